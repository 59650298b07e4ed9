"""A fake Twilio that ships in the package: the REST subset the service uses, signed webhooks, a phone page.

Run it with `reminders simulator`, mount `create_simulator_app(config)` under `/simulator` (demo mode), or use
the test fixtures in tests/fixtures/simulator.py. See `app.py` for the URL layout, `inspection.py` for the
inspection API, `magic.py` for the phone numbers that make things fail, and `registry.py` for carrier
registration (Messaging Services, Trust Hub, A2P brands and campaigns, toll-free verifications).
"""

from .app import SimulatorApp, create_simulator_app
from .config import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, AccountConfig, Faults, NumberConfig, SimulatorConfig
from .core import Simulator
from .seeding import RegistrationSids, registration_sids

__all__ = [
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "AccountConfig",
    "Faults",
    "NumberConfig",
    "RegistrationSids",
    "Simulator",
    "SimulatorApp",
    "SimulatorConfig",
    "create_simulator_app",
    "registration_sids",
]
