"""The follower's account in chat (P1.1, P2.1): bind through the internet hospital (an H5
link: passwords are never typed into chat), switch the active 就诊人 in one step, unbind
(confirmed on the H5 page)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from bot.container import current as container
from bot.models import PatientAccount, PatientProfile
from bot.services import binding

from . import gate


def _link(path: str) -> str:
    return container().settings.public_base_url + path


def bind_card(dispatcher: CollectingDispatcher) -> None:
    dispatcher.utter_message(
        custom={
            "card": "news",
            "title": "绑定就诊人",
            "description": "登录医院互联网医院账号，一键导入您和家人的就诊人信息。",
            "url": _link("/h5/bind"),
        }
    )


def _account(tracker: Tracker) -> tuple[int | None, bool]:
    meta = gate.metadata(tracker)
    return meta.get("account_id"), bool(meta.get("bound"))


class ActionBindAccount(gate.PatientAction):
    def name(self) -> str:
        return "action_bind_account"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        account_id, bound = _account(tracker)
        if bound and account_id:
            with container().uow() as uow:
                names = [
                    f"{p.patient.name}（{p.relation}）"
                    for p in uow.session.scalars(
                        select(PatientProfile).where(PatientProfile.account_id == account_id)
                    )
                ]
            dispatcher.utter_message(
                text="您已绑定互联网医院账号，就诊人："
                + "、".join(names)
                + f"。查看或解除绑定请打开：{_link('/h5/home')}"
            )
            return []
        bind_card(dispatcher)
        return []


class ActionSwitchProfile(gate.PatientAction):
    """One step: to the 就诊人 named in the message, else to the next one."""

    def name(self) -> str:
        return "action_switch_profile"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        account_id, bound = _account(tracker)
        if not bound or not account_id:
            dispatcher.utter_message(text="您还没有绑定就诊人。")
            bind_card(dispatcher)
            return []
        wanted = gate.entity(tracker, "patient_name")
        with container().uow() as uow:
            account = uow.session.get(PatientAccount, account_id)
            assert account is not None
            profiles = list(
                uow.session.scalars(
                    select(PatientProfile)
                    .where(PatientProfile.account_id == account_id)
                    .order_by(PatientProfile.id)
                )
            )
            if len(profiles) < 2:
                dispatcher.utter_message(text="您的账号只有一位就诊人，无需切换。")
                return []
            target = next((p for p in profiles if wanted and p.patient.name == wanted), None)
            if target is None:
                ids = [p.id for p in profiles]
                current = (
                    ids.index(account.active_profile_id) if account.active_profile_id in ids else -1
                )
                target = profiles[(current + 1) % len(profiles)]
            binding.switch(uow.session, account, target.id)
            uow.commit()
            others = "、".join(p.patient.name for p in profiles if p.id != target.id)
            text = (
                f"已切换到就诊人：{target.patient.name}（{target.relation}）。"
                f"其他就诊人：{others}，发送“切换就诊人 姓名”可直接切换。"
            )
        dispatcher.utter_message(text=text)
        return []


class ActionUnbindAccount(gate.PatientAction):
    def name(self) -> str:
        return "action_unbind_account"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        _, bound = _account(tracker)
        if not bound:
            dispatcher.utter_message(text="您还没有绑定互联网医院账号，无需解除。")
            return []
        dispatcher.utter_message(
            text=f"解除绑定后将不再收到就诊人的导管维护提醒。请打开以下页面确认解除：{_link('/h5/home')}"
        )
        return []
