"""The local WorkMail emulator: WorkMail's wire protocol on loopback, for tests and offline use."""

from .control import EmulatorCommandError, EmulatorControl
from .engine import Emulator, Faults, Settings, Timing
from .server import EmulatorServer, running_emulator

__all__ = [
    "Emulator",
    "EmulatorCommandError",
    "EmulatorControl",
    "EmulatorServer",
    "Faults",
    "Settings",
    "Timing",
    "running_emulator",
]
