"""Catheter removal (拔管) in chat, after a scan or by name: which catheter, date, reason, the
linked complication when removed for one, catheter intact, tip culture, one confirmation.
"12床今天拔管了，治疗结束" fills what it says; a date before the last maintenance is asked
to be confirmed; the service (bot/services/removals.py) refuses a second removal."""

from __future__ import annotations

import re
from contextlib import suppress
from datetime import date
from typing import Any

import redis
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy import select

from bot.container import current as container
from bot.jobs.queues import enqueue_send
from bot.models import Catheter, Complication, Patient, Removal
from bot.models.enums import CatheterState
from bot.services import access, removals
from bot.services import complications as complication_service
from bot.services import dictionary as dictionary_service

from . import catheters, forms, gate, parsing

FORM = "removal_form"
COMPLICATION = removals.COMPLICATION
NO_COMPLICATION = 0  # r_complication when the catheter has no open complication to link
_REASONS = [
    ("DEATH", r"死亡|去世|过世|病故"),
    ("ACCIDENTAL", r"意外|非计划|脱出|滑脱|滑出|自行|自己拔|自拔|拽出|扯出|掉了"),
    ("PATIENT_REQUEST", r"患者要求|病人要求|本人要求|家属要求|要求拔|不想留|拒绝"),
    ("COMPLICATION", r"并发症|感染|血栓|静脉炎|堵管|堵塞|渗出|外渗|移位|断裂|破损|发热"),
    ("END_OF_THERAPY", r"治疗结束|疗程结束|化疗结束|治疗完|疗程完|结疗|到期|出院|不需要|用完"),
]
_BED = re.compile(r"[0-9一二两三四五六七八九十]+\s*号?\s*床")
_DATE_WORDS = re.compile(r"今|昨|明|后天|前天|天前|[0-9]+\s*[月号日]|[-/]|周|星期|礼拜")
_NOT_INTACT = re.compile(r"不完整|不全|断|缺|破|残留|少了|否|^不|没有完整")
_INTACT = re.compile(r"完整|完好|好的|无损|^是|^对|^有$|没问题")
_NOT_SENT = re.compile(r"未送|没送|不送|没有送|未做|没做|不做|未培养|无需|不需要|^无$|^否|^没有$")
_SENT = re.compile(r"送|培养|已做|做了")
_RESULT_PREFIX = re.compile(
    r"^(?:已经?|尖端)?(?:送检|送培养|送了|送|培养)?(?:了)?(?:结果)?[，,：:\s]*"
)
_PENDING = re.compile(r"^(?:待|等|未出|没出|还没|结果未|暂无)")


def reason_of(text: str) -> str | None:
    for code, words in _REASONS:
        if re.search(words, text, re.I):
            return code
    return None


def culture_of(text: str) -> dict[str, Any] | None:
    """{"sent": bool, "result": str | None} from "未送", "已送，待结果", "已送，阴性"."""
    t = parsing.normalise(text)
    if _NOT_SENT.search(t):
        return {"sent": False, "result": None}
    if not _SENT.search(t) and not re.search(r"阴性|阳性|生长|菌", t):
        return None
    result = _RESULT_PREFIX.sub("", t).strip("。. ")
    if not result or _PENDING.search(result):
        return {"sent": True, "result": None}
    return {"sent": True, "result": result[: removals.TIP_RESULT_MAX]}


def intact_of(text: str) -> bool | None:
    t = parsing.normalise(text)
    if _NOT_INTACT.search(t):
        return False
    return True if _INTACT.search(t) else None


def _day(text: str) -> date | None:
    t = _BED.sub(" ", parsing.normalise(text))
    return parsing.relative_date(t, forms.today()) if _DATE_WORDS.search(t) else None


def _catheter(tracker: Tracker) -> Catheter | None:
    value = tracker.get_slot("r_catheter")
    return catheters.load(int(value))[0] if isinstance(value, int) else None


def _last_maintained(catheter_id: int) -> date | None:
    rt = container()
    with rt.uow() as uow:
        catheter = uow.session.get(Catheter, catheter_id)
        assert catheter is not None
        return removals.last_maintained_on(uow.session, catheter, rt.settings.timezone)


class ValidateRemovalForm(forms.ChatForm):
    form = FORM
    slots = (
        "r_catheter",
        "r_date",
        "r_date_check",
        "r_reason",
        "r_complication",
        "r_intact",
        "r_culture",
        "r_confirm",
    )

    def permitted(self, tracker: Tracker) -> bool:
        return gate.refusal_for_clinician_feature(tracker) is None

    def wanted(self, slot: str, values: dict[str, Any]) -> bool:
        if slot == "r_complication":
            return values.get("r_reason") == COMPLICATION
        if slot == "r_date_check":
            day, catheter = values.get("r_date"), values.get("r_catheter")
            if not (isinstance(catheter, int) and _iso(day)):
                return False
            last = _last_maintained(catheter)
            return last is not None and date.fromisoformat(str(day)) < last
        return True

    def prefill(self, tracker: Tracker) -> dict[str, Any]:
        text = forms.latest_text(tracker)
        day = _day(text)
        culture = culture_of(text) if re.search(r"培养|送检", text) else None
        intact = intact_of(text) if re.search(r"完整|断|残留", text) else None
        return {
            "r_catheter": catheters.meant(tracker),
            "r_date": day.isoformat() if day else None,
            "r_reason": reason_of(text),
            "r_intact": intact,
            "r_culture": culture,
        }

    def prompt(self, slot: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> None:
        if slot == "r_catheter" and _BED.search(forms.latest_text(tracker)):
            dispatcher.utter_message(text="系统中没有床号信息，无法按床号查找。")
        elif slot == "r_date_check":
            last = _last_maintained(int(tracker.get_slot("r_catheter")))
            dispatcher.utter_message(
                text=f"拔管日期（{tracker.get_slot('r_date')}）早于最近一次维护（{last}）。"
            )
        elif slot == "r_complication":
            dispatcher.utter_message(text=_choices_text(tracker.get_slot("r_choices") or []))
        elif slot == "r_confirm":
            dispatcher.utter_message(text=summary(tracker))

    def validate_r_catheter(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        found = catheters.resolve(tracker, value)
        if found.catheter_id is None:
            dispatcher.utter_message(text=_removed_already(tracker, value) or found.message)
            return {"r_catheter": None, "candidates": found.candidates}
        result: dict[str, Any] = {"r_catheter": found.catheter_id, "candidates": None}
        catheter, _ = catheters.load(found.catheter_id)
        day = tracker.get_slot("r_date")
        if isinstance(day, str) and (problem := _date_problem(catheter, date.fromisoformat(day))):
            dispatcher.utter_message(text=problem)
            result["r_date"] = None
        if tracker.get_slot("r_reason") == COMPLICATION:
            result |= _link(found.catheter_id)
        return result

    def validate_r_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        day = date.fromisoformat(value) if _iso(value) else _day(str(value))
        if day is None:
            dispatcher.utter_message(text="没有看懂拔管日期，请回复如“今天”“昨天”“12月1日”。")
            return {"r_date": None}
        catheter = _catheter(tracker)
        problem = _date_problem(catheter, day) if catheter else None
        if problem is None and day > forms.today():
            problem = "拔管日期不能晚于今天，请重新发送日期。"
        if problem:
            dispatcher.utter_message(text=problem)
            return {"r_date": None}
        return {"r_date": day.isoformat(), "r_date_check": None}

    def validate_r_date_check(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if _day(str(value)) is not None:  # a corrected date instead of a yes
            return self.validate_r_date(value, dispatcher, tracker, domain)
        answer = parsing.yes_no(str(value), forms.latest_intent(tracker))
        if answer is None:
            dispatcher.utter_message(text="日期无误请回复“确认”，或直接发送正确的拔管日期。")
        if answer is False:
            return {"r_date": None, "r_date_check": None}
        return {"r_date_check": answer}

    def validate_r_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value)
        code = text if text in dict(_REASONS) else reason_of(parsing.normalise(text))
        if code is None:
            dispatcher.utter_message(
                text="没有看懂拔管原因，请回复“治疗结束”“并发症”“意外/非计划拔管”“患者要求”或“死亡”。"
            )
            return {"r_reason": None}
        result: dict[str, Any] = {"r_reason": code}
        catheter = tracker.get_slot("r_catheter")
        if code == COMPLICATION and isinstance(catheter, int):
            result |= _link(catheter)
        elif code != COMPLICATION:
            result |= {"r_complication": None, "r_choices": None}
        return result

    def validate_r_complication(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if isinstance(value, int):
            return {"r_complication": value}
        offered = tracker.get_slot("r_choices") or []
        index = parsing.choice(str(value), len(offered))
        if index is None:
            dispatcher.utter_message(text=f"请回复 1–{len(offered)} 之间的序号。")
            return {"r_complication": None}
        return {"r_complication": int(offered[index])}

    def validate_r_intact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        intact = value if isinstance(value, bool) else intact_of(str(value))
        if intact is None:
            dispatcher.utter_message(text="请回复“完整”或“不完整”。")
        return {"r_intact": intact}

    def validate_r_culture(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        culture = value if isinstance(value, dict) else culture_of(str(value))
        if culture is None:
            dispatcher.utter_message(
                text="请回复尖端培养情况：“未送”“已送，待结果”，或结果如“已送，阴性”。"
            )
        return {"r_culture": culture}

    def validate_r_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return forms.validate_yes_no("r_confirm", value, tracker, dispatcher)


def _iso(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None


def _date_problem(catheter: Catheter, day: date) -> str | None:
    placed = forms.local(catheter.placed_at)
    if day < placed:
        return f"拔管日期不能早于置管日期（{placed:%Y-%m-%d}），请重新发送日期。"
    return None


def _removed_already(tracker: Tracker, value: Any) -> str | None:
    """A removed catheter named or scanned: why it cannot be removed again."""
    name = gate.patient_name(tracker) or (str(value) if isinstance(value, str) else None)
    if not name or not gate.metadata(tracker).get("staff_id"):
        return None
    with container().uow() as uow:
        s = uow.session
        found = access.find_catheters(
            s,
            catheters.actor(tracker),
            Patient.name == name,
            Catheter.state == CatheterState.REMOVED,
            context="chat-form",
            limit=1,
        )
        if not found or s.scalar(
            select(Catheter.id).where(
                Catheter.patient_id == found[0].patient_id,
                Catheter.state == CatheterState.IN_PLACE,
            )
        ):
            return None
        text = removals.already_removed(s, dictionary_service.current(s), found[0])
        uow.commit()
    return text


def _link(catheter_id: int) -> dict[str, Any]:
    """The complication a removal for a complication is linked to: the only open one, else a
    choice among them (r_choices); none open: registered unlinked."""
    with container().uow() as uow:
        still_open = complication_service.find_open_for_catheter(uow.session, catheter_id)
        ids = [c.id for c in still_open]
    if len(ids) == 1:
        return {"r_complication": ids[0], "r_choices": None}
    if not ids:
        return {"r_complication": NO_COMPLICATION, "r_choices": None}
    return {"r_complication": None, "r_choices": ids}


def _choices_text(ids: list[int]) -> str:
    with container().uow() as uow:
        d = dictionary_service.current(uow.session)
        lines = [f"{n}. {_describe(uow.session, d, i)}" for n, i in enumerate(ids, 1)]
    return "该导管有多个未结案的并发症：\n" + "\n".join(lines)


def _describe(session: Any, d: Any, complication_id: int) -> str:
    c = session.get(Complication, complication_id)
    grade = f" {c.grade}级" if c.grade is not None else ""
    return f"#{c.id} {d.label('complications', c.type)}{grade}（{c.onset_on:%m-%d}发生）"


def summary(tracker: Tracker) -> str:
    catheter, d = catheters.load(int(tracker.get_slot("r_catheter")))
    culture = tracker.get_slot("r_culture") or {}
    linked = tracker.get_slot("r_complication")
    lines = [
        "请核对拔管登记：",
        f"导管：{catheters.describe(d, catheter)}",
        f"拔管日期：{tracker.get_slot('r_date')}",
        f"原因：{d.label('removal_reasons', tracker.get_slot('r_reason'))}",
    ]
    if tracker.get_slot("r_reason") == COMPLICATION:
        with container().uow() as uow:
            what = _describe(uow.session, d, linked) if linked else "未关联（无未结案并发症）"
        lines.append(f"关联并发症：{what}")
    lines.append(f"导管完整：{'是' if tracker.get_slot('r_intact') else '否'}")
    sent = "未送" if not culture.get("sent") else f"已送，{culture.get('result') or '待结果'}"
    lines.append(f"尖端培养：{sent}")
    return "\n".join(lines)


PATIENT_TOLD = (
    "拔管由医护人员在系统中登记，登记后维护提醒和随访会自动停止。"
    "如导管意外脱出，请用干净纱布按压穿刺点，并立即到医院处理。"
)


class ActionSubmitRemoval(forms.SubmitAction):
    form = FORM
    confirm_slot = "r_confirm"

    def refusal(self, tracker: Tracker) -> str | None:
        refused = gate.refusal_for_clinician_feature(tracker)
        return PATIENT_TOLD if refused == gate.CLINICIAN_ONLY else refused

    def save(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        rt = container()
        culture = tracker.get_slot("r_culture") or {}
        catheter_id = int(tracker.get_slot("r_catheter"))
        removed_on = date.fromisoformat(str(tracker.get_slot("r_date")))
        reason = str(tracker.get_slot("r_reason"))
        with rt.uow() as uow:
            d = dictionary_service.current(uow.session)
            try:
                result = removals.register(
                    uow.session,
                    d,
                    catheter_id,
                    removed_on=removed_on,
                    reason=reason,
                    tz=rt.settings.timezone,
                    actor=catheters.actor(tracker),
                    institution_id=gate.metadata(tracker).get("institution_id"),
                    complication_id=tracker.get_slot("r_complication") or None,
                    catheter_intact=tracker.get_slot("r_intact"),
                    tip_culture_sent=bool(culture.get("sent")),
                    tip_culture_result=culture.get("result"),
                    confirmed=tracker.get_slot("r_date_check") is True,
                    context="chat",
                )
            except removals.RemovalRefused as exc:
                uow.rollback()
                same = uow.session.scalar(select(Removal).where(Removal.catheter_id == catheter_id))
                if same is not None and (same.removed_on, same.reason) == (removed_on, reason):
                    dispatcher.utter_message(text="这次拔管已经登记过，没有重复保存。")
                else:
                    dispatcher.utter_message(text=f"未能登记拔管：{exc}")
                return
            removal = result.removal
            text = (
                f"拔管已登记：{removal.removed_on:%Y-%m-%d}，"
                f"{d.label('removal_reasons', removal.reason)}，留置{removal.dwell_days}天。"
                + ("已计入非计划拔管。" if removal.unplanned else "")
                + (
                    f"并发症 #{removal.complication_id} 已结案（导致拔管）。"
                    if removal.complication_id
                    else ""
                )
                + "维护提醒和随访已停止"
                + ("，已通知患者。" if result.outbox_ids else "。")
            )
            uow.commit()
        with suppress(redis.RedisError):  # rows stay pending; the sweeper sends them later
            for outbox_id in result.outbox_ids:
                enqueue_send(rt.redis, outbox_id)
        dispatcher.utter_message(text=text)
