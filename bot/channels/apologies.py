"""What a person hears when the service cannot answer them properly: the apology of a turn
that broke and the holding reply of a dialogue-engine outage. Both name the hospital's
number (``HOSPITAL_PHONE``) for anything urgent."""

from __future__ import annotations

from typing import Any

APOLOGY_CARD = "apology"  # a custom reply marking a turn that broke (see turn_error)


def _urgent(phone: str) -> str:
    return f"紧急情况请拨打{phone}或前往急诊。" if phone else "紧急情况请直接联系医院或前往急诊。"


def apology(phone: str) -> str:
    return "抱歉，系统暂时无法处理您的消息，请稍后再试；" + _urgent(phone)


def holding(phone: str) -> str:
    return "系统正在恢复，您的消息已收到，稍后回复您；" + _urgent(phone)


def apology_reply(phone: str, *, action: str, error: str) -> dict[str, Any]:
    """The reply a failed action answers with: the apology for the person, what broke for
    the inbox row (never shown to the person)."""
    card = {"card": APOLOGY_CARD, "text": apology(phone), "action": action, "error": error[:500]}
    return {"custom": card}


def turn_error(replies: list[dict[str, Any]]) -> str | None:
    """What broke in a turn whose replies carry an apology, for the inbox row."""
    for reply in replies:
        custom = reply.get("custom")
        if isinstance(custom, dict) and custom.get("card") == APOLOGY_CARD:
            return f"{custom.get('action') or 'turn'}: {custom.get('error') or '?'}"
    return None
