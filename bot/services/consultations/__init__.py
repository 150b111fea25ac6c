"""Consultations (会诊, C5.1, C3.5): a clinician — usually an outside one — asks this hospital's
vascular-access consultants about a patient; the service opens a WeChat Work group chat
(``appchat``), brings the case into it (a textcard to the H5 case page, then the photos, voice
notes and videos), and records the advice and the conclusion, which go back to the group, to
the patient's record and to the complication concerned.

Modules:
- ``requests``: ``request`` (access, one consultation per request, consultants picked from the
  roster), ``attach_media`` and ``accepting_media`` (media sent in the app chat), ``add_member``.
- ``roster``: who is on duty (``ConsultantDuty`` rows, edited in the admin web).
- ``chat``: the group chat — created, the case posted, notes posted, members added — run by
  ``bot.jobs.consultations`` with retries; failures reported to the requester and admins.
- ``decisions``: ``record_note`` (advice / conclusion, consultants only for the conclusion),
  ``close``, ``reopen``; ``unconcluded`` (the 48-hour reminder sweep).
- ``views``: ``mine`` (the "我的会诊" list), ``case`` (the case page's facts, access-checked
  and audited), ``status_label``.

Statuses: requested → open → concluded → closed (``ConsultationStatus``).
"""

from __future__ import annotations

from bot.models.enums import ConsultationStatus

STATUS_LABELS = {
    ConsultationStatus.REQUESTED: "待建群",
    ConsultationStatus.OPEN: "会诊中",
    ConsultationStatus.CONCLUDED: "已出结论",
    ConsultationStatus.CLOSED: "已结束",
}
# the refusals, one wording for the pages, the chat and the service
NOT_CONSULTANT = "只有本次会诊的会诊专家可以填写结论。"
NOT_MEMBER = "只有本次会诊的成员可以填写会诊意见。"
NOT_CLOSER = "只有会诊申请人或管理员可以结束会诊。"
NOT_INVITER = "只有会诊申请人、会诊专家或管理员可以邀请成员。"
# media sent in the app chat within this many minutes of a request attach to it
MEDIA_WINDOW_MINUTES = 30


class ConsultationError(ValueError):
    """A request or decision refused, with a reason in Chinese to show the person."""


def status_label(status: ConsultationStatus) -> str:
    return STATUS_LABELS[status]
