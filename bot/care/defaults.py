"""The default clinical dictionary, from CLINICAL.md (WS/T 433-2023, INS 2024, T/CNAS 33-2023).

This is data: it is written to the database as dictionary version 1 and edited by
administrators from there. Values marked ``verify`` are hospital policy to be confirmed;
the admin help text says so.
"""

from __future__ import annotations

from typing import Any

DEFAULT_DICTIONARY: dict[str, Any] = {
    "device_types": [
        {
            "code": "PICC",
            "label": "经外周静脉置入中心静脉导管",
            "short": "PICC",
            "snomed": ["1396526001", "1396489007"],
            "central": True,
            "max_dwell_days": 365,
            "verify": ["max_dwell_days"],
        },
        {
            "code": "PORT",
            "label": "完全植入式静脉输液港",
            "short": "输液港",
            "snomed": ["398013009"],
            "central": True,
            "max_dwell_days": None,
        },
        {
            "code": "CVC",
            "label": "中心静脉导管",
            "short": "CVC",
            "snomed": ["52124006"],
            "central": True,
            "max_dwell_days": None,
        },
        {
            "code": "MIDLINE",
            "label": "中等长度导管",
            "short": "中线导管",
            "snomed": ["1396531004", "1396527005"],
            "central": False,
            "max_dwell_days": None,
        },
    ],
    # when: the dressing type for external catheters, the usage for ports
    "maintenance_intervals": [
        {
            "device_type": "PICC",
            "when": "TRANSPARENT",
            "days": 7,
            "label": "冲封管、透明敷料及输液接头更换",
        },
        {"device_type": "PICC", "when": "GAUZE", "days": 2, "label": "纱布敷料更换"},
        {
            "device_type": "CVC",
            "when": "TRANSPARENT",
            "days": 7,
            "label": "冲封管、透明敷料及输液接头更换",
        },
        {"device_type": "CVC", "when": "GAUZE", "days": 2, "label": "纱布敷料更换"},
        {
            "device_type": "MIDLINE",
            "when": "TRANSPARENT",
            "days": 7,
            "label": "冲封管、透明敷料更换",
            "verify": True,
        },
        {
            "device_type": "MIDLINE",
            "when": "GAUZE",
            "days": 2,
            "label": "纱布敷料更换",
            "verify": True,
        },
        {
            "device_type": "PORT",
            "when": "PORT_IDLE",
            "days": 28,
            "label": "治疗间歇期冲封管",
            "verify": True,
        },
        {
            "device_type": "PORT",
            "when": "PORT_IN_USE",
            "days": 7,
            "label": "持续输液时更换无损伤针",
            "verify": True,
        },
    ],
    "due_soon_days": 2,
    "reminder_days_before": 2,
    "red_flags": {
        "external_length_change_cm": 2.0,
        "arm_circumference_increase_cm": 2.0,
        "verify": True,
    },
    "tiers": [
        {
            "code": "A",
            "label": "高危",
            "follow_up_days": 3,
            "escalate_overdue_days": 1,
            "description": "既往并发症、血栓风险高或依从性差：每3天随访，逾期1天通知责任护士",
        },
        {
            "code": "B",
            "label": "常规",
            "follow_up_days": None,
            "escalate_overdue_days": None,
            "description": "每次维护时随访",
        },
        {
            "code": "C",
            "label": "稳定",
            "follow_up_days": None,
            "escalate_overdue_days": None,
            "description": "按标准维护间隔",
        },
    ],
    "dressing_types": [
        {"code": "TRANSPARENT", "label": "透明敷料"},
        {"code": "GAUZE", "label": "纱布敷料"},
    ],
    "veins": [
        {"code": "BASILIC", "label": "贵要静脉"},
        {"code": "BRACHIAL", "label": "肱静脉"},
        {"code": "CEPHALIC", "label": "头静脉"},
        {"code": "MEDIAN_CUBITAL", "label": "肘正中静脉"},
        {"code": "INTERNAL_JUGULAR", "label": "颈内静脉"},
        {"code": "SUBCLAVIAN", "label": "锁骨下静脉"},
        {"code": "FEMORAL", "label": "股静脉"},
    ],
    "sides": [{"code": "LEFT", "label": "左侧"}, {"code": "RIGHT", "label": "右侧"}],
    "techniques": [
        {"code": "SELDINGER", "label": "塞丁格技术"},
        {"code": "MST", "label": "改良塞丁格技术"},
        {"code": "US", "label": "超声引导"},
        {"code": "ECG", "label": "腔内心电图尖端定位"},
    ],
    "tip_confirmation": [
        {"code": "XRAY", "label": "胸部X线"},
        {"code": "ECG", "label": "腔内心电图"},
    ],
    "port_sites": [{"code": "CHEST", "label": "胸壁"}, {"code": "ARM", "label": "上臂"}],
    "site_findings": [
        {"code": "NORMAL", "label": "穿刺点无异常"},
        {"code": "REDNESS", "label": "发红"},
        {"code": "SWELLING", "label": "肿胀"},
        {"code": "TENDERNESS", "label": "压痛"},
        {"code": "EXUDATE", "label": "渗液"},
        {"code": "BLEEDING", "label": "渗血", "dressing_compromised": True},
        {"code": "PUS", "label": "脓性分泌物"},
        {"code": "DRESSING_LOOSE", "label": "敷料松动", "dressing_compromised": True},
        {"code": "DRESSING_DAMP", "label": "敷料潮湿", "dressing_compromised": True},
        {"code": "DRESSING_SOILED", "label": "敷料污染", "dressing_compromised": True},
    ],
    "patency": [
        {"code": "PATENT", "label": "通畅"},
        {"code": "PARTIAL", "label": "部分堵塞"},
        {"code": "OCCLUDED", "label": "完全堵塞"},
    ],
    "complications": [
        {"code": "PHLEBITIS", "label": "静脉炎", "scale": "phlebitis"},
        {"code": "INFILTRATION", "label": "药物渗出"},
        {"code": "EXTRAVASATION", "label": "药物外渗"},
        {"code": "OCCLUSION_PARTIAL", "label": "导管部分堵塞"},
        {"code": "OCCLUSION_COMPLETE", "label": "导管完全堵塞"},
        {"code": "THROMBOSIS", "label": "导管相关性血栓/深静脉血栓"},
        {"code": "CRBSI", "label": "导管相关血流感染(CRBSI/CLABSI)", "clabsi": True},
        {"code": "LOCAL_INFECTION", "label": "局部穿刺点感染"},
        {"code": "MIGRATION", "label": "导管移位/异位"},
        {"code": "DISLODGEMENT", "label": "导管意外脱出"},
        {"code": "FRACTURE", "label": "导管破损/断裂"},
        {"code": "MARSI", "label": "医用粘胶相关性皮肤损伤"},
        {"code": "PINCH_OFF", "label": "夹闭综合征", "device_types": ["PORT"]},
        {"code": "POCKET_INFECTION", "label": "输液港囊袋感染", "device_types": ["PORT"]},
        {"code": "OTHER", "label": "其他"},
    ],
    "scales": {
        "phlebitis": [
            {"grade": 0, "label": "0级：无症状"},
            {"grade": 1, "label": "1级：穿刺部位发红，伴或不伴疼痛"},
            {"grade": 2, "label": "2级：疼痛伴发红和/或肿胀"},
            {"grade": 3, "label": "3级：2级表现加条索状改变，可触及条索状静脉"},
            {"grade": 4, "label": "4级：3级表现加可触及条索状静脉长度>2.5cm，有脓性渗出"},
        ],
    },
    "removal_reasons": [
        {"code": "END_OF_THERAPY", "label": "治疗结束", "unplanned": False},
        {"code": "COMPLICATION", "label": "并发症", "unplanned": True},
        {"code": "ACCIDENTAL", "label": "意外/非计划拔管", "unplanned": True},
        {"code": "PATIENT_REQUEST", "label": "患者要求", "unplanned": False},
        {"code": "DEATH", "label": "死亡", "unplanned": False},
    ],
    "services": [
        {"code": "PICC_MAINT", "label": "PICC维护"},
        {"code": "PORT_MAINT", "label": "输液港维护"},
        {"code": "PICC_PLACE", "label": "PICC置管"},
        {"code": "PORT_PLACE", "label": "输液港植入"},
    ],
    "units": {"length": "cm", "circumference": "cm", "volume": "ml", "size": "Fr"},
}
