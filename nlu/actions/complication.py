"""Complication report in chat (C3.4): which catheter, type, grade where a scale exists,
onset date, a short history, one confirmation. Photos sent while the form runs are saved with
the report, photos sent soon after attach to it (complication_photos.py); handling steps and
closing are handling.py."""

from __future__ import annotations

import re
from contextlib import suppress
from datetime import date
from typing import Any

import redis
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.care.dictionary import Dictionary
from bot.container import current as container
from bot.jobs.queues import enqueue_send
from bot.services import complications as complication_service
from bot.services import dictionary as dictionary_service

from . import catheters, complication_photos, forms, gate, parsing

FORM = "complication_form"
# What nurses type for each complication code (the NLU entity gives the code directly).
_TYPE_WORDS = [
    ("OCCLUSION_COMPLETE", r"完全堵|堵死|推不动|完全阻塞"),
    ("OCCLUSION_PARTIAL", r"堵|阻塞|回抽不畅|不通畅"),
    ("PHLEBITIS", r"静脉炎"),
    ("EXTRAVASATION", r"外渗"),
    ("INFILTRATION", r"渗出"),
    ("THROMBOSIS", r"血栓|DVT"),
    ("CRBSI", r"血流感染|CRBSI|CLABSI|败血|菌血"),
    ("POCKET_INFECTION", r"囊袋"),
    ("LOCAL_INFECTION", r"感染|化脓|脓"),
    ("MIGRATION", r"移位|异位|滑出|外移"),
    ("DISLODGEMENT", r"脱出|脱管|拔出"),
    ("FRACTURE", r"断|破损|破裂|漏"),
    ("MARSI", r"皮肤损伤|过敏|皮炎|MARSI|胶布"),
    ("PINCH_OFF", r"夹闭"),
    ("OTHER", r"^其他|^其它"),
]
_ENTITY_CODES = {"OCCLUSION": "OCCLUSION_PARTIAL"}  # the NLU's coarse code


def type_code(text: str, d: Dictionary) -> str | None:
    upper = text.strip().upper()
    if d.has_code("complications", upper):
        return upper
    if upper in _ENTITY_CODES:
        return _ENTITY_CODES[upper]
    for code, words in _TYPE_WORDS:
        if re.search(words, text, re.IGNORECASE):
            return code
    for entry in d.payload.get("complications", []):
        if entry["label"] in text:
            return str(entry["code"])
    return None


def scale_of(d: Dictionary, code: str | None) -> list[dict[str, Any]]:
    entry = next((c for c in d.payload.get("complications", []) if c["code"] == code), None)
    scale = entry.get("scale") if entry else None
    return list(d.payload.get("scales", {}).get(scale, [])) if scale else []


def _dictionary() -> Dictionary:
    with container().uow() as uow:
        return dictionary_service.current(uow.session)


_GRADE = re.compile(r"([0-4０-４一二三四ⅠⅡⅢⅣ]|I{1,3}|IV)\s*[级度]")
_ROMAN = {"Ⅰ": "1", "Ⅱ": "2", "Ⅲ": "3", "Ⅳ": "4", "I": "1", "II": "2", "III": "3", "IV": "4"}


class ValidateComplicationForm(complication_photos.PhotoKeepingForm):
    form = FORM
    slots = ("c_catheter", "c_type", "c_grade", "c_onset", "c_history", "c_confirm")

    def permitted(self, tracker: Tracker) -> bool:
        return gate.refusal_for_clinician_feature(tracker) is None

    def wanted(self, slot: str, values: dict[str, Any]) -> bool:
        if slot == "c_grade":
            return bool(values.get("c_type")) and bool(scale_of(_dictionary(), values["c_type"]))
        return True

    def prefill(self, tracker: Tracker) -> dict[str, Any]:
        found = {
            "c_catheter": catheters.meant(tracker),
            "c_type": gate.entity(tracker, "complication"),
        }
        text = tracker.latest_message.get("text") or ""
        if found["c_type"] is None and text:  # a type the model did not tag: "王芳静脉炎"
            found["c_type"] = type_code(parsing.normalise(text), _dictionary())
        if (grade := gate.entity(tracker, "grade")) is not None:
            found["c_grade"] = str(grade)
        elif m := _GRADE.search(text):  # "静脉炎2级", "二级", "Ⅱ度"
            found["c_grade"] = str(parsing.cn_int(m.group(1)) or m.group(1))
        # "今天发现的", "昨天开始红": the onset said in the report is not asked again
        onset = gate.entity(tracker, "date") or text
        if (day := parsing.relative_date(str(onset), forms.today())) is not None:
            found["c_onset"] = day.isoformat()
        return found

    def prompt(self, slot: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> None:
        d = _dictionary()
        if slot == "c_type":
            names = "、".join(c["label"] for c in d.payload.get("complications", []))
            dispatcher.utter_message(text=f"可选类型：{names}")
        elif slot == "c_grade":
            scale = scale_of(d, tracker.get_slot("c_type"))
            dispatcher.utter_message(text="\n".join(g["label"] for g in scale))
        elif slot == "c_confirm":
            dispatcher.utter_message(text=summary(tracker, d))

    def validate_c_catheter(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        found = catheters.resolve(tracker, value)
        if found.catheter_id is None:
            dispatcher.utter_message(text=found.message)
            return {"c_catheter": None, "candidates": found.candidates}
        catheter, _ = catheters.load(found.catheter_id)
        return {
            "c_catheter": found.catheter_id,
            "c_device": catheter.device_type,
            "candidates": None,
        }

    def validate_c_type(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        d = _dictionary()
        code = type_code(parsing.normalise(str(value)), d)
        if code is None:
            dispatcher.utter_message(
                text="没有识别出并发症类型，请回复上面列出的类型之一，如“静脉炎”“堵管”。"
            )
            return {"c_type": None}
        allowed = next(
            (c.get("device_types") for c in d.payload["complications"] if c["code"] == code), None
        )
        device = tracker.get_slot("c_device")
        if allowed and device and device not in allowed:
            dispatcher.utter_message(
                text=f"“{d.label('complications', code)}”只适用于"
                f"{'、'.join(d.label('device_types', x) for x in allowed)}，请重新选择类型。"
            )
            return {"c_type": None}
        return {"c_type": code}

    def validate_c_grade(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = parsing.normalise(str(value)).upper()
        for roman in sorted(_ROMAN, key=len, reverse=True):
            text = text.replace(roman, _ROMAN[roman])
        grade = parsing.number(text)
        scale = scale_of(_dictionary(), tracker.get_slot("c_type"))
        grades = [g["grade"] for g in scale]
        if grade is None or grade != int(grade) or int(grade) not in grades:
            dispatcher.utter_message(text=f"分级应为 {min(grades)}–{max(grades)} 级，请回复数字。")
            return {"c_grade": None}
        return {"c_grade": int(grade)}

    def validate_c_onset(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        today = forms.today()
        day = parsing.relative_date(str(value), today)
        catheter, _ = catheters.load(int(tracker.get_slot("c_catheter")))
        placed = forms.local(catheter.placed_at)
        if day is None or not placed <= day <= today:
            dispatcher.utter_message(
                text=f"发生日期应在置管日期（{placed:%Y-%m-%d}）与今天之间，如“今天”“昨天”“11月20日”。"
            )
            return {"c_onset": None}
        return {"c_onset": day.isoformat()}

    def validate_c_history(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return forms.text_value("c_history", value, dispatcher, what="简要病史与表现", min_len=2)

    def validate_c_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return forms.validate_yes_no("c_confirm", value, tracker, dispatcher)


def summary(tracker: Tracker, d: Dictionary) -> str:
    catheter, _ = catheters.load(int(tracker.get_slot("c_catheter")))
    grade = tracker.get_slot("c_grade")
    return "\n".join(
        [
            "请核对并发症上报：",
            f"导管：{catheters.describe(d, catheter)}",
            f"类型：{d.label('complications', tracker.get_slot('c_type'))}"
            + (f" {grade}级" if grade is not None else ""),
            f"发生日期：{tracker.get_slot('c_onset')}",
            f"简要病史：{tracker.get_slot('c_history')}",
        ]
    )


# Said to a patient whose words read as a clinician's complication report ("静脉炎", "堵管了").
PATIENT_DESCRIBES = (
    "如果是您的导管出现了不适，请直接描述症状，例如“穿刺点发红”“手臂肿了”“冲管推不动”，"
    "我会告诉您该怎么处理；情况紧急请发送“找护士”或立即就医。"
)


class ActionSubmitComplication(forms.SubmitAction):
    form = FORM
    confirm_slot = "c_confirm"

    def refusal(self, tracker: Tracker) -> str | None:
        refused = gate.refusal_for_clinician_feature(tracker)
        if refused == gate.CLINICIAN_ONLY:  # a patient describing a problem with their line
            return PATIENT_DESCRIBES
        return refused

    def save(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        rt = container()
        with rt.uow() as uow:
            d = dictionary_service.current(uow.session)
            try:
                result = complication_service.report(
                    uow.session,
                    d,
                    int(tracker.get_slot("c_catheter")),
                    type_code=str(tracker.get_slot("c_type")),
                    onset_on=date.fromisoformat(str(tracker.get_slot("c_onset"))),
                    grade=tracker.get_slot("c_grade"),
                    brief_history=tracker.get_slot("c_history"),
                    tz=rt.settings.timezone,
                    actor=catheters.actor(tracker),
                    institution_id=gate.metadata(tracker).get("institution_id"),
                    idempotency_key=forms.idempotency_key(tracker),
                )
            except complication_service.ComplicationRefused as exc:
                uow.rollback()
                dispatcher.utter_message(text=f"未能上报：{exc}")
                return
            uow.commit()
            number = result.complication.id
        with suppress(redis.RedisError):  # rows stay pending; the sweeper sends them later
            for outbox_id in result.outbox_ids:
                enqueue_send(rt.redis, outbox_id)
        if result.created:
            text = (
                f"并发症已上报（编号 {number}），状态：待处理。30分钟内发送照片会添加到该并发症；"
                "处理后发送如“静脉炎已处理：硫酸镁湿敷”记录处理，也可发送“发起会诊”请专家会诊。"
            )
        else:
            text = f"该并发症已上报过（编号 {number}），没有重复登记。"
        dispatcher.utter_message(text=text)
        complication_photos.attach(
            dispatcher, tracker, number, complication_photos.pending(tracker)
        )
