"""Setting a patient's follow-up plan in chat (C3.3): the next maintenance date, the tier
(分级管理), the follow-up cycle and notes — "王芳下次维护定在下周五", "12床改为高危，每2天随访".

Which catheter, what to change (whatever the first message already said is taken), one
confirmation. Saving goes through the same service as the catheter page's follow-up plan,
so the rules, the checks (not before the last maintenance, a tier from the dictionary, a cycle
of 1–180 days) and the audit are the same.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.container import current as container
from bot.models import Catheter
from bot.services import dictionary as dictionary_service
from bot.services import maintenance as maintenance_service

from . import catheters, forms, gate, parsing

FORM = "follow_up_form"
HOW = "请回复要设置的内容，例如“下次维护 12月5日”“分级 高危”“每7天随访”或“注意事项：注意观察臂围”。"
# A tier is read only where it is named as one ("改为高危", "分级B", or the word alone), so that
# "常规维护" is not a change to the 常规 tier.
_TIER_CUE = (
    r"(?:分级|分层|级别|等级|改为|改成|设为|设成|调为|调成|调整为"
    r"|升级为|升为|降为|降级为|标记为|定为)\s*"
)
_MONTH_DAY = re.compile(r"\d{1,2}\s*(?:月|[-/.])\s*\d{1,2}")
_BED = re.compile(r"[0-9一二两三四五六七八九十]+\s*号?\s*床")
_CYCLE = re.compile(
    r"(?:每|周期|间隔|频率|频次)\D{0,4}?([0-9一二两三四五六七八九十]+)\s*天"
    r"|([0-9一二两三四五六七八九十]+)\s*天\s*(?:一次|1次|随访)"
)
_NOTES = re.compile(r"(?:注意事项|备注|注意)\s*(?:写一下|补充)?\s*[:：]\s*(.+)$")
_DATE_WORDS = re.compile(
    r"下次|下回|下一次|维护|换药|冲管|换膜|日期|时间|[0-9]+[月号日]|[-/]|明天|后天|周|星期"
)


def parse_plan(text: str, today: date, tiers: Mapping[str, str]) -> dict[str, Any]:
    """What the clinician asked to change: next_due (ISO date, today or later), tier (a code of
    ``tiers``, code → label, from the dictionary), cycle_days, notes. Empty when nothing
    recognisable was said."""
    plan: dict[str, Any] = {}
    if m := _NOTES.search(text):  # notes as typed (Chinese punctuation kept)
        plan["notes"] = m.group(1).strip()[:500]
        text = text[: m.start()]
    t = _BED.sub(" ", parsing.normalise(text))  # "3号床" is a bed, not the 3rd
    if (tier := _tier(t, tiers)) is not None:
        plan["tier"] = tier
    if m := _CYCLE.search(t):
        plan["cycle_days"] = parsing.cn_int(m.group(1) or m.group(2))
        t = t[: m.start()] + t[m.end() :]
    if _DATE_WORDS.search(t) and (due := parsing.relative_date(t, today)) is not None:
        if due < today and _MONTH_DAY.search(t) and not re.search(r"\d{4}", t):
            # "1月5日" said in December is next January
            with contextlib.suppress(ValueError):
                due = due.replace(year=due.year + 1)
        plan["next_due"] = due.isoformat()
    return plan


def _tier(text: str, tiers: Mapping[str, str]) -> str | None:
    for code, label in tiers.items():
        names = f"{re.escape(label)}|{re.escape(code)}\\s*级|{re.escape(code)}(?![A-Za-z])"
        if re.search(f"{_TIER_CUE}(?:{names})", text, re.I) or re.fullmatch(
            f"\\s*(?:{names})\\s*(?:患者|的|吧|就行|级)?\\s*", text, re.I
        ):
            return code
    return None


def tier_labels(d: Any) -> dict[str, str]:
    return {code: tier.label for code, tier in d.tiers.items()}


def describe_plan(d: Any, plan: dict[str, Any]) -> str:
    parts = []
    if "next_due" in plan:
        parts.append(f"下次维护 {date.fromisoformat(plan['next_due']):%Y年%m月%d日}")
    if "tier" in plan:
        parts.append(f"分级 {tier_labels(d).get(plan['tier'], plan['tier'])}（{plan['tier']}）")
    if "cycle_days" in plan:
        parts.append(f"随访周期 每{plan['cycle_days']}天")
    if "notes" in plan:
        parts.append(f"注意事项：{plan['notes']}")
    return "；".join(parts)


def _tiers() -> dict[str, str]:
    with container().uow() as uow:
        return tier_labels(dictionary_service.current(uow.session))


class ValidateFollowUpForm(forms.ChatForm):
    form = FORM
    slots = ("f_catheter", "f_plan", "f_confirm")

    def permitted(self, tracker: Tracker) -> bool:
        return gate.refusal_for_clinician_feature(tracker) is None

    def prefill(self, tracker: Tracker) -> dict[str, Any]:
        plan = parse_plan(forms.latest_text(tracker), forms.today(), _tiers())
        return {
            "f_catheter": catheters.meant(tracker),
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
        plan = value if isinstance(value, dict) else parse_plan(str(value or ""), today, _tiers())
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
        rt = container()
        plan: dict[str, Any] = tracker.get_slot("f_plan")
        with rt.uow() as uow:
            catheter = uow.session.get(Catheter, int(tracker.get_slot("f_catheter")))
            assert catheter is not None
            d = dictionary_service.current(uow.session)
            # A date set by hand stays unless a new one is given; otherwise the date follows
            # from the last maintenance with the new plan, as on the catheter page.
            if "next_due" in plan:
                next_due: date | None = date.fromisoformat(plan["next_due"])
            else:
                next_due = catheter.next_due_on if catheter.next_due_explicit else None
            try:
                due = maintenance_service.set_follow_up(
                    uow.session,
                    d,
                    catheter,
                    tier=plan.get("tier", catheter.tier),
                    cycle_days=plan.get("cycle_days", catheter.follow_up_cycle_days),
                    notes=plan.get("notes", catheter.follow_up_notes),
                    next_due=next_due,
                    tz=rt.settings.timezone,
                    actor=catheters.actor(tracker),
                )
            except maintenance_service.MaintenanceRefused as exc:
                uow.rollback()
                dispatcher.utter_message(text=f"未能保存：{exc}")
                return
            tier_label = tier_labels(d).get(catheter.tier, catheter.tier)
            follow = catheter.next_follow_up_on
            uow.commit()
        follow_text = f"下次随访 {follow:%Y年%m月%d日}" if follow else "不另行随访"
        dispatcher.utter_message(
            text=f"随访计划已保存：分级 {tier_label}，{follow_text}，下次维护 {due:%Y年%m月%d日}。"
            "随访问询和维护提醒会按新日期发送给患者。"
        )
