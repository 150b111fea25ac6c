"""Patient features that stand on their own: nearby institutions, education, symptom advice."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.container import current as container
from bot.services import directory

from . import education, gate

URGENT = {
    "FEVER": "发热可能是导管相关血流感染的信号",
    "BLEEDING": "穿刺点出血需要尽快压迫止血并处理",
    "SWELLING": "手臂肿胀可能提示导管相关性血栓",
    "EXTERNAL_LONGER": "导管外露变长可能是导管脱出或移位",
    "BLOCKED": "输液不畅可能是导管堵塞",
}
ADVICE = {
    "REDNESS": "穿刺点发红请保持局部清洁干燥，不要自行涂药，尽快到医院或就近机构评估",
    "EXUDATE": "穿刺点渗液会让敷料潮湿，需当天到医院或就近机构更换敷料并评估",
    "DRESSING_LOOSE": "敷料松动、卷边或潮湿时，请当天到医院或就近机构更换，期间不要自行撕开",
    "PAIN": "如疼痛持续或加重，请尽快就医评估",
    "ITCH": "皮肤瘙痒、起疹可能与敷料或胶布有关，请勿抓挠，维护时告诉护士更换敷料类型",
}


class ActionNearbyInstitutions(Action):
    """Institutions that maintain the patient's catheters, nearest first (P5.1): by a shared
    location, else by a district named in the message, else ask — with the map page's link."""

    def name(self) -> str:
        return "action_nearby_institutions"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lat, lon = gate.entity(tracker, "latitude"), gate.entity(tracker, "longitude")
        device = gate.entity(tracker, "device_type")
        rt = container()
        page = f"{rt.settings.public_base_url}/h5/nearby"
        with rt.uow() as uow:
            s = uow.session
            devices = (
                [str(device)]
                if device
                else directory.patient_device_types(
                    s, gate.metadata(tracker).get("active_patient_id")
                )
            )
            place = (
                None
                if lat is not None
                else directory.district_in(s, str(tracker.latest_message.get("text") or ""))
            )
            if lat is not None and lon is not None and directory.in_china(float(lat), float(lon)):
                found = directory.nearby(s, float(lat), float(lon), device_types=devices)
            elif place:
                found = directory.in_district(s, place, device_types=devices)[:3]
            else:
                found = None
        if found is None:
            outside = "您发送的位置不在国内，" if lat is not None else ""
            dispatcher.utter_message(
                text=f"{outside}请发送您的位置（点击输入框旁的“+”，选择“位置”），或告诉我您所在的区县"
                f"（如“西湖区”），我会列出附近可以维护导管的医疗机构。也可打开地图查看：{page}"
            )
            return []
        if not found:
            dispatcher.utter_message(
                text=f"{place or '附近'}暂未找到可维护您导管的医疗机构，请联系置管医院咨询。"
                f"查看全部机构：{page}"
            )
            return []
        where = f"{place}可维护导管的医疗机构：" if place else "离您最近的可维护导管的医疗机构："
        dispatcher.utter_message(text=where)
        for p in found:
            dispatcher.utter_message(json_message=_place_card(p))
        dispatcher.utter_message(text=f"在地图中查看、一键导航：{page}")
        return []


def _place_card(p: directory.Place) -> dict[str, Any]:
    return {
        "card": "notice",
        "title": p.name,
        "subtitle": f"约{p.distance_km:.1f}公里" if p.distance_km is not None else "",
        "fields": [
            ["服务", "、".join(p.service_labels) or "导管维护"],
            ["电话", p.phone or "—"],
            ["时间", p.opening_hours or "—"],
            ["地址", p.address or "—"],
        ],
    }


class ActionEducation(Action):
    def name(self) -> str:
        return "action_education"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        education.answer(dispatcher, tracker)  # the whole message, ranked retrieval (P7.1)
        return []


class ActionReportSymptom(Action):
    """Advice for what the patient describes; the urgent ones are sent to a nurse or a hospital."""

    def name(self) -> str:
        return "action_report_symptom"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if gate.is_clinician(tracker):  # a nurse typing what she found: offer the report
            dispatcher.utter_message(
                text="需要为患者登记并发症吗？点击“上报并发症”开始登记。",
                buttons=[{"title": "上报并发症", "payload": "/report_complication"}],
            )
            return []
        symptoms = list(dict.fromkeys(str(s) for s in tracker.get_latest_entity_values("symptom")))
        urgent = [URGENT[s] for s in symptoms if s in URGENT]
        advice = [ADVICE[s] for s in symptoms if s in ADVICE]
        if urgent or not advice:  # urgent, or nothing specific to say: never stay silent
            lead = "；".join(urgent) + "。" if urgent else "感谢您告诉我身体的变化。"
            dispatcher.utter_message(
                text=f"{lead}请尽快联系静脉治疗护士或到医院就诊；如伴有寒战、高热、胸闷气促，请立即前往急诊。",
                buttons=[
                    {"title": "联系护士", "payload": "/ask_human"},
                    {"title": "附近机构", "payload": "/nearby_institutions"},
                ],
            )
        if advice:
            dispatcher.utter_message(text="。\n".join(advice) + "。")
        return []
