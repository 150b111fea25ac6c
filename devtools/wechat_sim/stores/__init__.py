"""The simulator's memory, one store per responsibility; :class:`~..state.SimState` composes
them around one shared :class:`~.core.Core` (lock, clock, sequence)."""

from .api_calls import ApiCalls
from .callback_log import CallbackLog
from .cards import Cards
from .chats import Chats
from .conversations import Conversations
from .core import CHANNELS, Core, Store
from .directory import DEFAULT_CLINICIAN, Directory
from .faults import Faults
from .followers import DEFAULT_PATIENT, Followers
from .media import Media
from .menus import Menus
from .oauth import OAuthCodes
from .subscriptions import Subscriptions
from .tokens import Tokens
from .windows import Windows
from .work_sends import DEFAULT_DUPLICATE_INTERVAL, WorkSends, message_digest

__all__ = [
    "CHANNELS",
    "DEFAULT_CLINICIAN",
    "DEFAULT_DUPLICATE_INTERVAL",
    "DEFAULT_PATIENT",
    "ApiCalls",
    "CallbackLog",
    "Cards",
    "Chats",
    "Conversations",
    "Core",
    "Directory",
    "Faults",
    "Followers",
    "Media",
    "Menus",
    "OAuthCodes",
    "Store",
    "Subscriptions",
    "Tokens",
    "Windows",
    "WorkSends",
    "message_digest",
]
