"""The phone page at `/simulator/`: every simulated phone's conversation, a reply box, and call answering
with a keypad. Server-rendered HTML; a little plain JS (no CDN) refreshes the log and posts to `api/...`.

All links are relative to the page, so it works standalone and mounted under the main app's `/simulator/`.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..local_time import display
from ..phones import local_zone
from .core import Simulator
from .state import Call, Message

STYLE = """
body{font:15px system-ui,sans-serif;margin:0;display:flex;min-height:100vh;color:#1d2530;background:#f4f6f9}
nav{width:16rem;background:#1d2530;color:#fff;padding:1rem}nav a{color:#cfe3ff;display:block;padding:.4rem 0}
nav a.on{color:#fff;font-weight:600}nav small{color:#8fa3bb}main{flex:1;padding:1rem 2rem;max-width:50rem}
.msg{max-width:70%;padding:.5rem .8rem;border-radius:1rem;margin:.3rem 0;white-space:pre-wrap}
.in{background:#e2e8f0}.out{background:#2563eb;color:#fff;margin-left:auto}.meta{font-size:.75rem;opacity:.7}
.row{display:flex}.call{border:1px solid #cbd5e1;border-radius:.5rem;padding:.6rem;margin:.5rem 0;background:#fff}
.call .say{font-style:italic}button{padding:.4rem .9rem;margin:.15rem;border-radius:.4rem;border:1px solid #94a3b8}
.keypad{display:grid;grid-template-columns:repeat(3,3.4rem);gap:.2rem}.keypad button{margin:0}
textarea,input,select{font:inherit;padding:.4rem;border:1px solid #94a3b8;border-radius:.4rem}
form{margin:.8rem 0}#log{min-height:6rem}.err{color:#b91c1c}
"""

SCRIPT = """
const phone = document.body.dataset.phone;
async function post(path, data) {
  const r = await fetch(path, {method: 'POST', headers: {'Content-Type': 'application/json'},
                               body: JSON.stringify(data || {})});
  if (!r.ok) { document.getElementById('status').textContent = (await r.json()).error || r.statusText; }
  await refresh();
  return r;
}
async function refresh() {
  const q = phone ? '&phone=' + encodeURIComponent(phone) : '';
  for (const part of ['log', 'phones']) {
    const r = await fetch('./?partial=' + part + q);
    if (r.ok) document.getElementById(part).innerHTML = await r.text();
  }
}
document.addEventListener('click', (e) => {
  const b = e.target.closest('button[data-action]');
  if (!b) return;
  e.preventDefault();
  const sid = b.dataset.sid, action = b.dataset.action;
  if (action === 'digit') post('api/calls/' + sid + '/digits', {digits: b.dataset.digit});
  else if (action === 'digits') {
    const input = document.getElementById('digits-' + sid);
    post('api/calls/' + sid + '/digits', {digits: input.value});
  } else post('api/calls/' + sid + '/' + action, {});
});
const form = document.getElementById('reply');
if (form) form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const body = form.elements.body.value;
  await post('api/reply', {from: phone, to: form.elements.to.value, body});
  form.elements.body.value = '';
});
const newForm = document.getElementById('new');
newForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const from = newForm.elements.from.value.trim();
  await post('api/reply', {from, to: newForm.elements.to.value, body: newForm.elements.body.value});
  location.href = './?phone=' + encodeURIComponent(from);
});
setInterval(refresh, 2000);
"""


def _ours(sim: Simulator) -> list[str]:
    return [n.phone_number for a in sim.store.accounts.values() for n in a.numbers.values()]


def _phone_of(message: Message) -> str:
    return message.from_ if message.direction == "inbound" else message.to


def _phones(sim: Simulator) -> list[str]:
    """Patients' phones, most recently active first."""
    latest: dict[str, float] = {}
    for m in sim.store.messages.values():
        latest[_phone_of(m)] = m.date_created.timestamp()
    for c in sim.store.calls.values():
        other = c.from_ if c.direction == "inbound" else c.to
        latest[other] = max(latest.get(other, 0.0), c.date_created.timestamp())
    return sorted(latest, key=lambda p: -latest[p])


def _phones_html(sim: Simulator, selected: str | None) -> str:
    items = [
        f'<a href="./?phone={quote(p)}" class="{"on" if p == selected else ""}">{escape(p)}</a>' for p in _phones(sim)
    ]
    return "".join(items) or "<small>No phone has been texted or called yet.</small>"


def _zone_of(phone: str) -> str:
    """The phone's own zone (from its number's area), for the times its owner reads; UTC when the number says
    nothing."""
    try:
        return local_zone(phone, "UTC")
    except Exception:  # anything typed in the "another phone" box
        return "UTC"


def _call_html(call: Call, zone: str) -> str:
    lines = []
    for step in call.transcript:
        for kind, value in step.items():
            if kind == "say":
                lines.append(f'<div class="say">“{escape(str(value))}”</div>')
            elif kind in ("pressed", "dial", "play", "error"):
                lines.append(f'<div class="{"err" if kind == "error" else ""}">{kind}: {escape(str(value))}</div>')
    sid = escape(call.sid)
    controls = ""
    if call.status in ("queued", "ringing"):
        controls = (
            f'<button data-action="answer" data-sid="{sid}">Answer</button>'
            f'<button data-action="hangup" data-sid="{sid}">Decline</button>'
        )
    elif call.status == "in-progress":
        if call.gather is not None:
            keys = "".join(
                f'<button data-action="digit" data-sid="{sid}" data-digit="{d}">{d}</button>' for d in "123456789*0#"
            )
            controls = (
                f'<div class="keypad">{keys}</div><input id="digits-{sid}" size="8" placeholder="digits">'
                f'<button data-action="digits" data-sid="{sid}">Send digits</button>'
            )
        controls += f'<button data-action="hangup" data-sid="{sid}">Hang up</button>'
    label = "Verification call" if call.validation_code is not None else f"Call from {escape(call.from_)}"
    return (
        f'<div class="call"><b>{label}</b> <span class="meta">{escape(call.status)} · '
        f"{escape(display(call.date_created, zone, 'weekday-time'))}</span>{''.join(lines)}<div>{controls}</div></div>"
    )


def _log_html(sim: Simulator, phone: str | None) -> str:
    if not phone:
        return "<p>Pick a phone on the left, or text the office from a new phone below.</p>"
    zone = _zone_of(phone)
    entries: list[tuple[float, str]] = []
    for m in sim.store.messages.values():
        if phone not in (m.to, m.from_):
            continue
        side = "in" if m.direction != "inbound" else "out"  # from the phone's point of view
        when = display(m.date_created, zone, "weekday-time")
        meta = f"{escape(when)} · {m.status}" + (f" · error {m.error_code}" if m.error_code else "")
        html = f'<div class="row"><div class="msg {side}">{escape(m.body)}<div class="meta">{meta}</div></div></div>'
        entries.append((m.date_created.timestamp(), html))
    for c in sim.store.calls.values():
        if phone in (c.to, c.from_):
            entries.append((c.date_created.timestamp(), _call_html(c, zone)))
    if not entries:
        return "<p>Nothing yet.</p>"
    note = f'<p class="meta">Times on this phone\'s clock ({escape(zone)}).</p>'
    return note + "".join(html for _, html in sorted(entries, key=lambda e: e[0]))


def _options(numbers: list[str], preferred: str | None) -> str:
    return "".join(
        f'<option value="{escape(n)}"{" selected" if n == preferred else ""}>{escape(n)}</option>' for n in numbers
    )


def page_routes(sim: Simulator) -> list[Route]:
    async def page(request: Request) -> Response:
        phone = request.query_params.get("phone") or None
        partial = request.query_params.get("partial")
        if partial == "log":
            return HTMLResponse(_log_html(sim, phone))
        if partial == "phones":
            return HTMLResponse(_phones_html(sim, phone))
        ours = _ours(sim)
        last = next(
            (m for m in reversed(sim.store.messages.values()) if phone in (m.to, m.from_) and m.direction != "inbound"),
            None,
        )
        reply = ""
        if phone:
            reply = (
                f'<form id="reply"><b>Reply as {escape(phone)}</b> to <select name="to">'
                f"{_options(ours, last.from_ if last else None)}</select><br>"
                '<textarea name="body" rows="2" cols="50" required></textarea><br><button>Send text</button></form>'
            )
        html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Simulated phones</title>
<style>{STYLE}</style></head><body data-phone="{escape(phone or "")}">
<nav><h2>Simulated phones</h2><small>Twilio simulator · our numbers: {escape(", ".join(ours))}</small>
<div id="phones">{_phones_html(sim, phone)}</div></nav>
<main><h1>{escape(phone or "Phones")}</h1><div id="status" class="err"></div>
<div id="log">{_log_html(sim, phone)}</div>{reply}
<form id="new"><b>Text the office from another phone</b><br>
<input name="from" placeholder="+15551234567" required> to <select name="to">{_options(ours, None)}</select><br>
<textarea name="body" rows="2" cols="50" required></textarea><br><button>Send text</button></form>
</main><script>{SCRIPT}</script></body></html>"""
        return HTMLResponse(html)

    return [Route("/", page, methods=["GET"])]
