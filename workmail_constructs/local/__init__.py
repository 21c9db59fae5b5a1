"""The local WorkMail emulator: WorkMail's wire protocol on loopback, for tests and offline use."""

from .config import Faults, Settings, Timing
from .control import EmulatorCommandError, EmulatorControl
from .engine import Emulator
from .http_request import Limits
from .server import EmulatorServer, running_emulator

__all__ = [
    "Emulator",
    "EmulatorCommandError",
    "EmulatorControl",
    "EmulatorServer",
    "Faults",
    "Limits",
    "Settings",
    "Timing",
    "running_emulator",
]
