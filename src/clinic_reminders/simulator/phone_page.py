"""The phone page at `/simulator/`: every simulated phone's conversation, a reply box, and call answering
with a keypad. Server-rendered HTML; a little plain JS (no CDN) refreshes the log and posts to `api/...`.

All links are relative to the page, so it works standalone and mounted under the main app's `/simulator/`.
In the demo a phone book (phone_book.py) gives the patients' names, the clinic's clock and a history kept
across restarts.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..local_time import display
from ..phones import local_zone
from .core import Simulator
from .phone_book import Entry, PhoneBook
from .state import Call

STYLE = """
body{font:15px system-ui,sans-serif;margin:0;display:flex;min-height:100vh;color:#1d2530;background:#f4f6f9}
nav{width:16rem;background:#1d2530;color:#fff;padding:1rem}nav a{color:#cfe3ff;display:block;padding:.4rem 0}
nav a.on{color:#fff;font-weight:600}nav small,nav .num{color:#8fa3bb}nav .num{font-size:.8rem;display:block}
nav h3{font-size:.8rem;text-transform:uppercase;color:#8fa3bb;margin:1rem 0 .2rem}.earlier{opacity:.75}
main{flex:1;padding:1rem 2rem;max-width:50rem}
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


def _phone_of(entry: Entry) -> str:
    return entry.from_ if entry.direction == "inbound" else entry.to


def _zone_of(phone: str, fallback: str) -> str:
    """The phone's own zone, from its number's area (its owner reads the texts on that clock), else `fallback`."""
    try:
        return local_zone(phone, fallback)
    except Exception:  # anything typed in the "another phone" box
        return fallback


class _View:
    """One render of the page: the entries, the names and the clock it shows them on."""

    def __init__(self, sim: Simulator, book: PhoneBook, names: dict[str, str], phone: str | None) -> None:
        self.sim, self.book, self.names = sim, book, names
        self.entries = book.entries(sim.store)
        self.zone_name = _zone_of(phone, book.zone) if phone else book.zone

    def when(self, moment: datetime) -> str:
        return display(moment, self.zone_name, "weekday-time")

    def label(self, phone: str) -> str:
        return self.names.get(phone, phone)

    def phones_html(self, selected: str | None) -> str:
        """Phones that texted or were texted, most recent first; then the other patients, by name."""
        latest: dict[str, float] = {}
        for entry in self.entries:
            latest[_phone_of(entry)] = entry.at.timestamp()
        active = sorted(latest, key=lambda p: -latest[p])
        rest = sorted((p for p in self.names if p not in latest), key=lambda p: self.names[p])
        html = "".join(self._link(p, selected) for p in active)
        if rest:
            html += "<h3>Other patients</h3>" + "".join(self._link(p, selected) for p in rest)
        return html or "<small>No phone has been texted or called yet.</small>"

    def _link(self, phone: str, selected: str | None) -> str:
        number = f'<span class="num">{escape(phone)}</span>' if phone in self.names else ""
        on = "on" if phone == selected else ""
        return f'<a href="./?phone={quote(phone)}" class="{on}">{escape(self.label(phone))}{number}</a>'

    def log_html(self, phone: str | None) -> str:
        if not phone:
            return "<p>Pick a phone on the left, or text the office from a new phone below.</p>"
        html = []
        for entry in self.entries:
            if phone not in (entry.to, entry.from_):
                continue
            live_call = self.sim.store.calls.get(entry.sid) if entry.kind == "call" else None
            if live_call is not None:
                html.append(_call_html(live_call, self.when(live_call.date_created)))
            elif entry.kind == "call":
                html.append(self._earlier_call(entry))
            else:
                html.append(self._message(entry))
        return "".join(html) or "<p>Nothing yet.</p>"

    def _message(self, entry: Entry) -> str:
        side = "in" if entry.direction != "inbound" else "out"  # from the phone's point of view
        earlier = "" if entry.sid in self.sim.store.messages else " earlier"
        meta = f"{self.when(entry.at)} · {entry.status}" + (f" · error {entry.error_code}" if entry.error_code else "")
        return (
            f'<div class="row{earlier}"><div class="msg {side}">{escape(entry.body)}'
            f'<div class="meta">{escape(meta)}</div></div></div>'
        )

    def _earlier_call(self, entry: Entry) -> str:
        said = [f"“{escape(v)}”" if k == "say" else f"{escape(k)}: {escape(v)}" for k, v in entry.heard]
        lines = "".join(f'<div class="say">{line}</div>' for line in said)
        return (
            f'<div class="call earlier"><b>Call from {escape(self.label(entry.from_))}</b> '
            f'<span class="meta">{escape(entry.status)} · {escape(self.when(entry.at))}</span>{lines}</div>'
        )


def _call_html(call: Call, when: str) -> str:
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
        f'<div class="call"><b>{label}</b> <span class="meta">{escape(call.status)} · {escape(when)}</span>'
        f"{''.join(lines)}<div>{controls}</div></div>"
    )


def _options(numbers: list[str], preferred: str | None) -> str:
    return "".join(
        f'<option value="{escape(n)}"{" selected" if n == preferred else ""}>{escape(n)}</option>' for n in numbers
    )


def page_routes(sim: Simulator, book: PhoneBook | None = None) -> list[Route]:
    phone_book = book or PhoneBook()

    async def page(request: Request) -> Response:
        phone = request.query_params.get("phone") or None
        partial = request.query_params.get("partial")
        names = dict(await run_in_threadpool(phone_book.names))  # the demo's reads its database
        view = _View(sim, phone_book, names, phone)
        if partial == "log":
            await run_in_threadpool(phone_book.save, sim.store)
            return HTMLResponse(view.log_html(phone))
        if partial == "phones":
            return HTMLResponse(view.phones_html(phone))
        ours = _ours(sim)
        last = next(
            (e for e in reversed(view.entries) if phone in (e.to, e.from_) and e.direction != "inbound"),
            None,
        )
        reply = ""
        if phone:
            reply = (
                f'<form id="reply"><b>Reply as {escape(view.label(phone))}</b> to <select name="to">'
                f"{_options(ours, last.from_ if last else None)}</select><br>"
                '<textarea name="body" rows="2" cols="50" required></textarea><br><button>Send text</button></form>'
            )
        heading = escape(view.label(phone)) if phone else "Phones"
        if phone and phone in names:
            heading += f" <small>{escape(phone)}</small>"
        html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Simulated phones</title>
<style>{STYLE}</style></head><body data-phone="{escape(phone or "")}">
<nav><h2>Simulated phones</h2><small>Twilio simulator · our numbers: {escape(", ".join(ours))}
· {escape(f"Times in {view.zone_name}, where this phone is." if phone else f"Times in {view.zone_name}.")}</small>
<div id="phones">{view.phones_html(phone)}</div></nav>
<main><h1>{heading}</h1><div id="status" class="err"></div>
<div id="log">{view.log_html(phone)}</div>{reply}
<form id="new"><b>Text the office from another phone</b><br>
<input name="from" placeholder="+15551234567" required> to <select name="to">{_options(ours, None)}</select><br>
<textarea name="body" rows="2" cols="50" required></textarea><br><button>Send text</button></form>
</main><script>{SCRIPT}</script></body></html>"""
        return HTMLResponse(html)

    return [Route("/", page, methods=["GET"])]
