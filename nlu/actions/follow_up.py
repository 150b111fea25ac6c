"""Setting a patient's follow-up plan in chat (C3.3): the next maintenance date, the tier
(分级管理), the follow-up cycle and notes — "王芳下次维护定在下周五", "12床改为高危，每2天随访".

Which catheter, what to change (whatever the first message already said is taken), one
confirmation. Saving goes through the same service as the catheter page's follow-up plan,
so the rules, the checks (not before the last maintenance, a tier from the dictionary, a cycle
of 1–180 days) and the audit are the same.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.models import Catheter
from bot.services import dictionary as dictionary_service
from bot.services import maintenance as maintenance_service

from . import catheters, forms, gate, parsing
from .runtime import runtime

FORM = "follow_up_form"
HOW = "请回复要设置的内容，例如“下次维护 12月5日”“分级 高危”“每7天随访”或“注意事项：注意观察臂围”。"
_TIER_WORDS = (("A", r"高危|A级|^A$|分级\s*A|改为?\s*A"), ("B", r"常规|B级|^B$|分级\s*B|改为?\s*B"),
               ("C", r"稳定|C级|^C$|分级\s*C|改为?\s*C"))  # fmt: skip
_CYCLE = re.compile(
    r"(?:每|周期|间隔|频率|频次)\D{0,4}?([0-9一二两三四五六七八九十]+)\s*天"
    r"|([0-9一二两三四五六七八九十]+)\s*天\s*(?:一次|1次|随访)"
)
_NOTES = re.compile(r"(?:注意事项|备注|注意)\s*(?:写一下|补充)?\s*[:：]\s*(.+)$")
_DATE_WORDS = re.compile(
    r"下次|下回|下一次|维护|换药|冲管|换膜|日期|时间|[0-9]+[月号日]|[-/]|明天|后天|周|星期"
)


def parse_plan(text: str, tracker: Tracker | None, today: date) -> dict[str, Any]:
    """What the clinician asked to change: next_due (ISO date), tier (A/B/C), cycle_days,
    notes. Empty when nothing recognisable was said."""
    plan: dict[str, Any] = {}
    if m := _NOTES.search(text):  # notes as typed (Chinese punctuation kept)
        plan["notes"] = m.group(1).strip()[:500]
        text = text[: m.start()]
    t = parsing.normalise(text)
    tier = gate.entity(tracker, "tier") if tracker is not None else None
    if tier is None:
        tier = next((code for code, words in _TIER_WORDS if re.search(words, t, re.I)), None)
    if tier in ("A", "B", "C"):
        plan["tier"] = tier
    if m := _CYCLE.search(t):
        plan["cycle_days"] = parsing.cn_int(m.group(1) or m.group(2))
        t = t[: m.start()] + t[m.end() :]
    if _DATE_WORDS.search(t) and (due := parsing.relative_date(t, today)) is not None:
        plan["next_due"] = due.isoformat()
    return plan


def describe_plan(d: Any, plan: dict[str, Any]) -> str:
    parts = []
    if "next_due" in plan:
        parts.append(f"下次维护 {date.fromisoformat(plan['next_due']):%Y年%m月%d日}")
    if "tier" in plan:
        parts.append(f"分级 {d.tiers[plan['tier']].label}（{plan['tier']}）")
    if "cycle_days" in plan:
        parts.append(f"随访周期 每{plan['cycle_days']}天")
    if "notes" in plan:
        parts.append(f"注意事项：{plan['notes']}")
    return "；".join(parts)


class ValidateFollowUpForm(forms.ChatForm):
    form = FORM
    slots = ("f_catheter", "f_plan", "f_confirm")

    def permitted(self, tracker: Tracker) -> bool:
        return gate.refusal_for_clinician_feature(tracker) is None

    def prefill(self, tracker: Tracker) -> dict[str, Any]:
        plan = parse_plan(forms.latest_text(tracker), tracker, forms.today())
        return {
            "f_catheter": tracker.get_slot(catheters.SCANNED)
            or gate.entity(tracker, "patient_name"),
            "f_plan": plan or None,
        }

    def prompt(self, slot: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> None:
        if slot == "f_confirm":
            catheter, d = catheters.load(int(tracker.get_slot("f_catheter")))
            dispatcher.utter_message(
                text=f"请核对随访设置：\n患者导管：{catheters.describe(d, catheter)}\n"
                f"修改为：{describe_plan(d, tracker.get_slot('f_plan'))}"
            )

    def validate_f_catheter(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return catheters.validate("f_catheter", value, tracker, dispatcher)

    def validate_f_plan(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        today = forms.today()
        plan = value if isinstance(value, dict) else parse_plan(str(value or ""), None, today)
        if not plan:
            dispatcher.utter_message(text="没有看懂要设置什么。" + HOW)
            return {"f_plan": None}
        if "next_due" in plan and date.fromisoformat(plan["next_due"]) < today:
            dispatcher.utter_message(text="下次维护日期不能早于今天，请重新发送日期。")
            return {"f_plan": None}
        if "cycle_days" in plan and not 1 <= (plan["cycle_days"] or 0) <= 180:
            dispatcher.utter_message(text="随访周期应为 1–180 天，请重新发送，例如“每7天随访”。")
            return {"f_plan": None}
        return {"f_plan": plan}

    def validate_f_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return forms.validate_yes_no("f_confirm", value, tracker, dispatcher)


class ActionSubmitFollowUp(forms.SubmitAction):
    form = FORM
    confirm_slot = "f_confirm"

    def refusal(self, tracker: Tracker) -> str | None:
        return gate.refusal_for_clinician_feature(tracker)

    def save(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        rt = runtime()
        plan: dict[str, Any] = tracker.get_slot("f_plan")
        with rt.uow() as uow:
            catheter = uow.session.get(Catheter, int(tracker.get_slot("f_catheter")))
            assert catheter is not None
            d = dictionary_service.current(uow.session)
            # An explicit date stays explicit unless a new one is given; changing only the
            # tier or cycle recomputes the date from the last maintenance, as on the H5 page.
            try:
                next_due = maintenance_service.set_follow_up(
                    uow.session, d, catheter,
                    tier=plan.get("tier", catheter.tier),
                    cycle_days=plan.get("cycle_days", catheter.follow_up_cycle_days),
                    notes=plan.get("notes", catheter.follow_up_notes),
                    next_due=date.fromisoformat(plan["next_due"]) if "next_due" in plan else None,
                    tz=rt.settings.timezone,
                    actor=catheters.actor(tracker),
                )  # fmt: skip
            except maintenance_service.MaintenanceRefused as exc:
                uow.rollback()
                dispatcher.utter_message(text=f"未能保存：{exc}")
                return
            tier_label = d.tiers[catheter.tier].label
            uow.commit()
        dispatcher.utter_message(
            text=f"随访计划已保存：分级 {tier_label}，下次维护 {next_due:%Y年%m月%d日}。"
            "提醒会按新日期发送给患者。"
        )
