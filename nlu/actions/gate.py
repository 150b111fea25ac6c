"""Two audiences, one engine: who is asking comes in the message metadata from the worker."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.container import current as container

CLINICAL_ROLES = {"nurse", "doctor", "outside_clinician", "admin"}
PATIENT_ONLY = "该功能面向患者，请在医院公众号中使用。"
CLINICIAN_ONLY = "该功能仅向医护人员开放，请在医院企业微信中使用。如需帮助，请发送“菜单”。"
UNKNOWN_STAFF = "您的企业微信账号尚未与医院工号关联，请联系信息科或静脉治疗专科管理员开通。"
AGREEMENTS_FIRST = (
    "《服务协议》和《隐私政策》已更新，请先阅读并同意后再继续使用：{base}/h5/agreements"
)
# patient actions open while a new agreement version waits: binding and unbinding (leaving
# must stay possible); viewing the agreements, help, greeting and the fallback are no
# patient features and never ask
OPEN_WITH_AGREEMENTS_PENDING = frozenset({"action_bind_account", "action_unbind_account"})


def metadata(tracker: Tracker) -> dict[str, Any]:
    meta = tracker.latest_message.get("metadata") or {}
    return meta if isinstance(meta, dict) else {}


def role(tracker: Tracker) -> str:
    return str(metadata(tracker).get("role") or tracker.get_slot("role") or "unknown")


def is_clinician(tracker: Tracker) -> bool:
    return role(tracker) in CLINICAL_ROLES


def refusal_for_patient_feature(tracker: Tracker, *, agreements: bool = True) -> str | None:
    """None if the sender may use a patient feature, else what to tell them: a clinician is
    sent to the official account; a bound patient who has not accepted the current service
    agreement or privacy policy (the worker's ``agreements_pending``) is sent to accept them
    first, unless ``agreements`` is false."""
    if is_clinician(tracker):
        return PATIENT_ONLY
    if agreements and metadata(tracker).get("agreements_pending"):
        return AGREEMENTS_FIRST.format(base=container().settings.public_base_url)
    return None


def refusal_for_clinician_feature(tracker: Tracker) -> str | None:
    r = role(tracker)
    if r in CLINICAL_ROLES:
        return None
    if metadata(tracker).get("channel") == "work":
        return UNKNOWN_STAFF
    return CLINICIAN_ONLY


def entity(tracker: Tracker, name: str) -> Any:
    return next(tracker.get_latest_entity_values(name), None)


def patient_names(tracker: Tracker) -> list[str]:
    """Names of patients this clinician may see that the message contains: read from the
    text by the worker (bot/services/names.py), whatever the model tagged."""
    return [str(n) for n in metadata(tracker).get("patient_names") or []]


def patient_name(tracker: Tracker, *, guessed: bool = True) -> str | None:
    """The patient a clinician's message is about: a name of a patient they may see, else
    the name the model tagged, else (unless ``guessed`` is false) a name jieba guessed, which
    a search answers "not found" if nobody the clinician may see has it."""
    known = patient_names(tracker)
    tagged = entity(tracker, "patient_name")
    guesses = (metadata(tracker).get("name_guesses") or []) if guessed else []
    if known:
        return known[0]
    return str(tagged) if tagged else (str(guesses[0]) if guesses else None)


class GatedAction(Action, ABC):
    """An action for one audience: anyone else is told politely why not, and nothing runs.

    Subclasses name their audience and implement ``answer`` instead of ``run``.
    """

    audience: ClassVar[str]  # "patient" or "clinician"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        refusal = (
            refusal_for_patient_feature(
                tracker, agreements=self.name() not in OPEN_WITH_AGREEMENTS_PENDING
            )
            if self.audience == "patient"
            else refusal_for_clinician_feature(tracker)
        )
        if (
            refusal
            and self.audience == "patient"
            and is_clinician(tracker)
            and patient_names(tracker)
        ):
            # "张金根的维护记录" from a nurse: that patient's records, not a refusal
            from .clinician import ActionSearchPatient

            return ActionSearchPatient().answer(dispatcher, tracker, domain)
        if refusal:
            dispatcher.utter_message(text=refusal)
            return []
        return self.answer(dispatcher, tracker, domain)

    @abstractmethod
    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """What the action does for its audience."""


class PatientAction(GatedAction, ABC):
    audience = "patient"


class ClinicianAction(GatedAction, ABC):
    audience = "clinician"
