"""A deterministic, realistic demo data set (``flask seed-demo``).

Everything comes from one seed: the same seed and the same ``today`` give the same people,
catheters, maintenance histories and complications (only ciphertexts differ, because every
encryption draws a fresh nonce). The data is arranged so that on ``today`` the due list shows
catheters in every status: overdue, due today, due soon, ok and removed.

``seed_demo`` only adds to the session and flushes; the caller commits. It writes nothing if
the home institution (code ``HOME``) already exists.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.care import rules
from bot.care.dictionary import Dictionary
from bot.models import (
    Agreement,
    AppointmentSlot,
    Catheter,
    Complication,
    ComplicationStep,
    Department,
    EducationArticle,
    Institution,
    MaintenanceRecord,
    Patient,
    Removal,
    Staff,
)
from bot.models.enums import (
    AgreementKind,
    CatheterState,
    ComplicationStatus,
    PlacementSource,
    PublishStatus,
    Sex,
    StaffRole,
)
from bot.security import idcard
from bot.security.crypto import PiiCipher

DEFAULT_SEED = 20261125
HOME_CODE = "HOME"
PATIENT_COUNT = 220
DEFAULT_TZ = ZoneInfo("Asia/Shanghai")

T = TypeVar("T")

# --- People ---------------------------------------------------------------------------------

# Common surnames, most frequent first; Zhejiang surnames (俞, 楼, 应, 裘 …) near the end.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
    "苏魏吕丁沈姚卢姜钟陆汪范金方俞施楼应章童孔毛邵钱严戴葛虞裘屠竺"
)
_SURNAME_WEIGHTS = [1 / (i + 6) for i in range(len(SURNAMES))]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Given names by sex and generation (names follow the fashion of the birth years).
GIVEN_NAMES: dict[tuple[str, str], tuple[str, ...]] = {
    ("M", "old"): _words(
        "建国 国强 建华 志明 德明 国平 福根 水根 金根 炳荣 国庆 建军 根林 荣华 永康 伟民 兴华 卫东 文斌 新民 汉忠 明华 祖德 雪根 关林 忠良 长发 德兴"
    ),
    ("F", "old"): _words(
        "秀英 桂英 玉兰 秀兰 桂兰 凤英 月娥 美华 素珍 彩凤 菊英 雪英 杏娟 爱华 金娣 美娟 丽华 素芬 瑞芳 宝娣 翠英 月仙 阿香 彩娥 秀珍 桂芳"
    ),
    ("M", "mid"): _words(
        "伟 强 军 勇 斌 海波 建平 晓东 卫国 立新 永强 志强 剑锋 国良 建明 海峰 俊 杰 鹏 华 磊 旭东 红军 利民 建伟 小平"
    ),
    ("F", "mid"): _words(
        "丽 芳 静 敏 燕 红 霞 丽萍 晓燕 海燕 美玲 丽娟 亚萍 雪芬 丽琴 春燕 文娟 慧 琳 红梅 素琴 卫红 玲玲 金凤 晓红"
    ),
    ("M", "young"): _words(
        "浩 宇 杰 磊 涛 宇航 子豪 俊杰 浩然 一鸣 天宇 博文 家豪 思远 晨 旭 凯 晨阳 昊天 嘉伟"
    ),
    ("F", "young"): _words(
        "婷婷 晓雯 思雨 佳怡 雨欣 诗涵 欣怡 梦瑶 雅琪 倩 颖 璐 佳 琪 悦 晓敏 雯雯 佳琪 梦婷 丹丹"
    ),
}

# Resident ID area codes: mostly Hangzhou districts (incl. the pre-2021 下城/江干 codes older
# cards still carry), some other Zhejiang cities.
AREA_CODES = (
    ("330102", 10), ("330103", 6), ("330104", 6), ("330105", 8), ("330106", 10),
    ("330108", 5), ("330109", 8), ("330110", 8), ("330111", 4), ("330112", 3),
    ("330113", 3), ("330114", 3), ("330122", 2), ("330127", 2), ("330182", 2),
    ("330203", 2), ("330302", 2), ("330402", 2), ("330502", 2), ("330602", 3),
    ("330702", 2), ("330782", 2), ("331002", 2),
)  # fmt: skip

PHONE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "157", "158", "159", "166", "173", "177", "180", "181", "182", "183",
    "186", "187", "188", "189", "191", "198", "199",
)  # fmt: skip


@dataclass(frozen=True)
class DemoPerson:
    """One demo patient's identity, before encryption."""

    name: str
    sex: Sex
    birth_date: date
    id_card: str
    phone: str
    hospital_patient_id: str


def _weighted(rng: random.Random, items: Sequence[T], weights: Sequence[float]) -> T:
    return rng.choices(items, weights=weights, k=1)[0]


def _person_name(rng: random.Random, sex: str, birth_year: int) -> str:
    era = "old" if birth_year < 1965 else "mid" if birth_year < 1986 else "young"
    surname = _weighted(rng, SURNAMES, _SURNAME_WEIGHTS)
    return surname + rng.choice(GIVEN_NAMES[(sex, era)])


def _phone(rng: random.Random, taken: set[str]) -> str:
    while True:
        number = rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        if number not in taken:
            taken.add(number)
            return number


def _id_card(rng: random.Random, birth: date, sex: str, taken: set[str]) -> str:
    codes = [c for c, _ in AREA_CODES]
    weights = [w for _, w in AREA_CODES]
    while True:
        area = _weighted(rng, codes, weights)
        order = rng.randrange(100)
        sex_digit = rng.choice("13579" if sex == "M" else "02468")
        first17 = f"{area}{birth:%Y%m%d}{order:02d}{sex_digit}"
        number = first17 + idcard.check_digit(first17)
        if number not in taken:
            taken.add(number)
            return number


def demo_people(
    seed: int = DEFAULT_SEED, *, today: date, count: int = PATIENT_COUNT
) -> list[DemoPerson]:
    """The demo patients, in the order ``seed_demo`` writes them. Pure: the same arguments
    always give the same list."""
    rng = random.Random(seed)
    ids: set[str] = set()
    phones: set[str] = set()
    numbers = rng.sample(range(10000, 100000), count)
    people = []
    for i in range(count):
        sex = Sex.MALE if rng.random() < 0.52 else Sex.FEMALE
        age = int(rng.triangular(18, 90, 63))  # oncology and surgical patients skew older
        birth = date(today.year - age - 1, 1, 1) + timedelta(days=rng.randrange(365))
        people.append(
            DemoPerson(
                name=_person_name(rng, sex.value, birth.year),
                sex=sex,
                birth_date=birth,
                id_card=_id_card(rng, birth, sex.value, ids),
                phone=_phone(rng, phones),
                hospital_patient_id=f"P{today.year}{numbers[i]:05d}",
            )
        )
    return people


# --- Institutions ---------------------------------------------------------------------------

ALL_SERVICES = ["PICC_MAINT", "PORT_MAINT", "PICC_PLACE", "PORT_PLACE"]

HOME_INSTITUTION: dict[str, Any] = {
    "code": HOME_CODE,
    "name": "示范市第一人民医院",
    "short_name": "示范一院",
    "level": "三级甲等",
    "district": "上城区",
    "address": "浙江省杭州市上城区解放路88号",
    "latitude": 30.2547,
    "longitude": 120.1798,
    "phone": "0571-87061234",
    "opening_hours": "静脉治疗专科门诊：周一至周五 08:00-12:00、13:30-17:00，周六 08:00-12:00",
    "services": ALL_SERVICES,
}

HOME_DEPARTMENTS = (
    ("ONCOLOGY", "肿瘤内科"),
    ("HEMATOLOGY", "血液科"),
    ("IV_CLINIC", "静脉治疗专科门诊"),
    ("GENERAL_SURGERY", "普外科"),
    ("THORACIC_SURGERY", "胸外科"),
    ("BREAST_SURGERY", "乳腺外科"),
    ("ICU", "重症医学科"),
)

OTHER_INSTITUTIONS: tuple[dict[str, Any], ...] = (
    {
        "code": "XIHU_PH", "name": "杭州市西湖区人民医院", "short_name": "西湖区人民医院",
        "level": "二级甲等", "district": "西湖区", "address": "浙江省杭州市西湖区文三路318号",
        "latitude": 30.2786, "longitude": 120.1251, "phone": "0571-88213456",
        "opening_hours": "周一至周日 08:00-11:30、13:30-17:00",
        "services": ["PICC_MAINT", "PORT_MAINT", "PICC_PLACE"],
        "department": ("IV_CLINIC", "静脉治疗门诊"),
    },
    {
        "code": "GONGSHU_TCM", "name": "杭州市拱墅区中医院", "short_name": "拱墅区中医院",
        "level": "二级甲等", "district": "拱墅区", "address": "浙江省杭州市拱墅区湖墅南路156号",
        "latitude": 30.3195, "longitude": 120.1428, "phone": "0571-88395120",
        "opening_hours": "周一至周六 08:00-11:30、13:30-16:30",
        "services": ["PICC_MAINT", "PORT_MAINT"],
        "department": ("NURSING_CLINIC", "护理门诊"),
    },
    {
        "code": "BINJIANG_CHANGHE", "name": "杭州市滨江区长河街道社区卫生服务中心",
        "short_name": "长河社区卫生服务中心", "level": "一级甲等", "district": "滨江区",
        "address": "浙江省杭州市滨江区长河路590号", "latitude": 30.1985, "longitude": 120.1962,
        "phone": "0571-86623310", "opening_hours": "周一至周五 08:00-11:30、13:30-17:00",
        "services": ["PICC_MAINT"],
        "department": ("GENERAL_PRACTICE", "全科门诊"),
    },
    {
        "code": "XIAOSHAN_2", "name": "杭州市萧山区第二人民医院", "short_name": "萧山二院",
        "level": "二级乙等", "district": "萧山区", "address": "浙江省杭州市萧山区城厢街道人民路72号",
        "latitude": 30.1672, "longitude": 120.2706, "phone": "0571-82726650",
        "opening_hours": "周一至周日 08:00-11:30、13:30-17:00",
        "services": ["PICC_MAINT", "PORT_MAINT", "PICC_PLACE"],
        "department": ("ONCOLOGY", "肿瘤科"),
    },
    {
        "code": "YUHANG_LIANGZHU", "name": "杭州市余杭区良渚街道社区卫生服务中心",
        "short_name": "良渚社区卫生服务中心", "level": "一级甲等", "district": "余杭区",
        "address": "浙江省杭州市余杭区良渚街道古墩路1888号", "latitude": 30.3712,
        "longitude": 120.0455, "phone": "0571-88771402",
        "opening_hours": "周一至周五 08:00-11:30、13:00-16:30",
        "services": ["PICC_MAINT"],
        "department": ("GENERAL_PRACTICE", "全科门诊"),
    },
    {
        "code": "LINPING_1", "name": "杭州市临平区第一人民医院", "short_name": "临平一院",
        "level": "三级乙等", "district": "临平区", "address": "浙江省杭州市临平区南大街369号",
        "latitude": 30.4197, "longitude": 120.3009, "phone": "0571-86223001",
        "opening_hours": "周一至周五 08:00-11:30、13:30-17:00，周六上午 08:00-11:30",
        "services": ALL_SERVICES,
        "department": ("IV_CLINIC", "静脉治疗门诊"),
    },
    {
        "code": "SHANGCHENG_JIANQIAO", "name": "杭州市上城区笕桥街道社区卫生服务中心",
        "short_name": "笕桥社区卫生服务中心", "level": "一级甲等", "district": "上城区",
        "address": "浙江省杭州市上城区笕桥路66号", "latitude": 30.3033, "longitude": 120.2112,
        "phone": "0571-86971122", "opening_hours": "周一至周五 08:00-11:30、13:30-17:00",
        "services": ["PICC_MAINT"],
        "department": ("GENERAL_PRACTICE", "全科门诊"),
    },
    {
        "code": "FUYANG_TCM", "name": "杭州市富阳区中医院", "short_name": "富阳区中医院",
        "level": "二级甲等", "district": "富阳区", "address": "浙江省杭州市富阳区富春街道北环路25号",
        "latitude": 30.0489, "longitude": 119.9603, "phone": "0571-63345210",
        "opening_hours": "周一至周六 08:00-11:30、13:30-17:00",
        "services": ["PICC_MAINT", "PORT_MAINT"],
        "department": ("NURSING_CLINIC", "护理门诊"),
    },
)  # fmt: skip

# Outside clinicians: (institution code, title)
OUTSIDE_CLINICIANS = (
    ("XIHU_PH", "主管护师"),
    ("XIAOSHAN_2", "护师"),
    ("LINPING_1", "主管护师"),
    ("BINJIANG_CHANGHE", "护师"),
    ("GONGSHU_TCM", "主管护师"),
)

# Hospitals outside the city that patients arrive from with a catheter already in place.
FAR_HOSPITALS = (
    "绍兴市人民医院",
    "宁波市第一医院",
    "上海市第六人民医院",
    "复旦大学附属肿瘤医院",
    "金华市中心医院",
)

# --- Devices --------------------------------------------------------------------------------

DEVICE_WEIGHTS = {"PICC": 60, "PORT": 25, "CVC": 10, "MIDLINE": 5}
# How long ago a current catheter of each type can have been placed (days).
PLACED_AGO = {"PICC": (1, 300), "PORT": (1, 300), "CVC": (1, 35), "MIDLINE": (1, 28)}
# Dwell range (days) of a catheter that has been removed.
REMOVED_DWELL = {"PICC": (25, 160), "PORT": (60, 200), "CVC": (5, 21), "MIDLINE": (7, 28)}

# brand, model, [(French size, lumens)], lot prefix
PICC_MODELS = (
    ("巴德", "PowerPICC 耐高压型", [(4, 1), (5, 1), (5, 2)], "REHX"),
    ("巴德", "Groshong 三向瓣膜式", [(4, 1), (5, 2)], "REGV"),
    ("BD", "BD 前端开口式PICC", [(4, 1), (5, 2)], "BD"),
    ("Arrow", "Arrow 耐高压PICC", [(4, 1), (5, 2)], "13F"),
    ("Vygon", "Vygon 耐高压PICC", [(4, 1)], "VY"),
    ("威高", "WEGO 耐高压PICC", [(4, 1), (5, 2)], "WG"),
)
PICC_MODEL_WEIGHTS = (30, 15, 15, 12, 8, 20)
# brand, model, port model, French size, site
PORT_MODELS = (
    ("巴德", "PowerPort 耐高压输液港", "PowerPort ClearVUE Slim 单腔", 8, "CHEST"),
    ("巴德", "BardPort 胸壁输液港", "BardPort 钛合金单腔", 6.6, "CHEST"),
    ("Vygon", "Polysite 输液港", "Polysite 3000 单腔", 6.5, "CHEST"),
    ("BD", "PowerPort 上臂输液港", "PowerPort Slim 上臂型", 6, "ARM"),
)
PORT_MODEL_WEIGHTS = (40, 25, 20, 15)
CVC_MODELS = (
    ("Arrow", "Arrow 双腔中心静脉导管", 7, 2),
    ("Arrow", "Arrow 三腔中心静脉导管", 7, 3),
    ("贝朗", "Certofix Duo 双腔中心静脉导管", 7, 2),
    ("贝朗", "Certofix Trio 三腔中心静脉导管", 7, 3),
)
MIDLINE_MODELS = (
    ("巴德", "PowerGlide Pro 中等长度导管", 4, 1),
    ("Arrow", "Arrow 中等长度导管", 4, 1),
    ("BD", "BD 中等长度导管", 4, 1),
)

DEPARTMENT_BY_DEVICE = {
    "PICC": (("ONCOLOGY", 45), ("HEMATOLOGY", 18), ("BREAST_SURGERY", 12),
             ("GENERAL_SURGERY", 10), ("THORACIC_SURGERY", 8), ("IV_CLINIC", 7)),
    "PORT": (("ONCOLOGY", 55), ("BREAST_SURGERY", 22), ("HEMATOLOGY", 10),
             ("GENERAL_SURGERY", 13)),
    "CVC": (("ICU", 50), ("GENERAL_SURGERY", 30), ("THORACIC_SURGERY", 20)),
    "MIDLINE": (("GENERAL_SURGERY", 35), ("ONCOLOGY", 25), ("ICU", 20), ("HEMATOLOGY", 20)),
}  # fmt: skip
INDICATIONS = {
    "ONCOLOGY": (("化疗", 85), ("长期静脉营养", 15)),
    "HEMATOLOGY": (("化疗", 75), ("造血干细胞移植", 25)),
    "BREAST_SURGERY": (("化疗", 100),),
    "GENERAL_SURGERY": (("长期静脉营养", 60), ("化疗", 40)),
    "THORACIC_SURGERY": (("化疗", 60), ("长期静脉营养", 40)),
    "ICU": (("血管活性药物输注", 55), ("长期静脉营养", 45)),
    "IV_CLINIC": (("化疗", 80), ("长期静脉营养", 20)),
}
MIDLINE_INDICATIONS = (("静脉抗感染治疗", 60), ("中长期补液", 40))

TIP_CAVOATRIAL = "上腔静脉与右心房交界处"

FLUSH_SALINE = "0.9%氯化钠"
HEPARIN_PORT = "肝素钠稀释液(100U/ml)"
HEPARIN_CVC = "肝素钠稀释液(10U/ml)"

ROUTINE_NOTES = (
    "患者自诉无不适，已宣教居家护理要点",
    "穿刺点干燥，无红肿渗液",
    "嘱按时维护，置管侧手臂避免提重物",
    "已告知下次维护日期",
    "患者化疗间歇期，一般情况可",
    "家属陪同，已示范臂围测量方法",
)
MINOR_FINDINGS = (
    (["DRESSING_LOOSE"], "敷料边缘卷边松动，已予更换"),
    (["DRESSING_DAMP"], "淋浴后敷料潮湿，已予更换并再次宣教淋浴防水方法"),
    (["EXUDATE"], "穿刺点少量淡黄色渗液，已消毒后更换敷料，嘱观察"),
    (["REDNESS"], "穿刺点周围皮肤轻度发红，无压痛，嘱观察"),
)

# --- Complications --------------------------------------------------------------------------

REMOVAL_NOTES = {
    "END_OF_THERAPY": "治疗结束，评估无需继续留置，按流程拔管，导管完整，穿刺点按压后无菌敷料覆盖",
    "PATIENT_REQUEST": "患者因生活不便要求拔除导管，已告知风险并签字，导管完整",
    "ACCIDENTAL": "导管意外部分脱出，评估尖端位置不符合要求后拔除，导管完整",
    "COMPLICATION": "因导管相关并发症拔管，导管完整",
    "DEATH": "患者因原发病进展于院内死亡，遗体料理时拔除导管",
}


@dataclass(frozen=True)
class ComplicationTemplate:
    type: str
    devices: tuple[str, ...]
    status: ComplicationStatus
    brief_history: str
    nursing_exam: str
    treatment: str
    outcome: str | None
    steps: tuple[tuple[int, str], ...]  # (hours after onset, action)
    grade: int | None = None
    removal: str | None = None  # the removal reason, if this complication ended the catheter
    findings: tuple[str, ...] = ("NORMAL",)
    patency: str = "PATENT"
    blood_return: bool = True
    arm_delta: str | None = None  # cm added to the arm circumference at onset
    external_delta: str | None = None  # cm added to the external length at onset
    resolve_days: int = 7
    removal_after_days: int = 0  # days from onset to the removal it led to
    tip_culture: str | None = None


COMPLICATIONS = (
    ComplicationTemplate(
        type="CRBSI", devices=("PICC",), status=ComplicationStatus.RESOLVED,
        removal="COMPLICATION", resolve_days=10, removal_after_days=1, tip_culture="表皮葡萄球菌（>15 CFU）",
        brief_history="患者化疗间歇期居家带管，2天前起无明显诱因出现寒战、高热，体温最高39.2℃，"
        "冲管后寒战加重；无咳嗽咳痰、尿频尿急、腹痛腹泻等其他部位感染表现。",
        nursing_exam="T 39.0℃，P 112次/分，BP 102/64mmHg。穿刺点无红肿及渗液，导管外露长度与"
        "置管时一致，回抽回血通畅。经导管与外周静脉同时采集血培养，导管血培养报阳时间较外周血"
        "提前2.5小时。",
        treatment="立即经导管及外周静脉同时采集血培养，经验性予万古霉素抗感染；血培养回报表皮"
        "葡萄球菌，差异报阳时间>2小时，确诊导管相关血流感染。经静脉治疗小组与主管医生讨论后"
        "拔除导管，尖端送细菌培养，按药敏结果调整抗生素，疗程14天。",
        outcome="拔管后48小时体温恢复正常，复查血培养阴性；感染控制后评估血管条件，择期重新置管。",
        steps=(
            (0, "发现寒战高热，同时抽取导管血及外周血培养，通知主管医生，暂停经导管输液"),
            (26, "血培养回报表皮葡萄球菌，差异报阳时间>2小时，拔除PICC，导管尖端送培养"),
            (96, "体温正常，复查血培养阴性，继续抗感染治疗，宣教再次置管前注意事项"),
        ),
    ),
    ComplicationTemplate(
        type="THROMBOSIS", devices=("PICC",), status=ComplicationStatus.RESOLVED,
        removal="COMPLICATION", resolve_days=14, removal_after_days=5, findings=("SWELLING",),
        arm_delta="2.8",
        brief_history="患者自觉置管侧上臂肿胀、酸胀3天，夜间加重，无胸闷、气促及胸痛。",
        nursing_exam="置管侧臂围较置管时增加2.8cm，上臂皮温略高，浅静脉显露，穿刺点无渗液。"
        "血管超声示置管侧腋静脉、锁骨下静脉血栓形成（部分闭塞）。",
        treatment="报告医生，抬高患肢，禁止按摩、热敷；予低分子肝素皮下注射抗凝。因导管回抽"
        "无回血、功能不良，且患者主要治疗已完成，经评估于抗凝5天后拔除导管。",
        outcome="拔管后继续口服利伐沙班抗凝3个月，上肢肿胀消退，复查超声血栓部分再通。",
        steps=(
            (0, "测量臂围较基线增加2.8cm，报告医生，急查血管超声"),
            (4, "超声确诊腋静脉-锁骨下静脉血栓，遵医嘱低分子肝素抗凝，抬高患肢制动"),
            (120, "抗凝5天后经评估拔除PICC，导管完整，拔管后观察30分钟无胸闷气促"),
        ),
    ),
    ComplicationTemplate(
        type="DISLODGEMENT", devices=("PICC",), status=ComplicationStatus.RESOLVED,
        removal="ACCIDENTAL", resolve_days=1, findings=("BLEEDING",), external_delta="12.0",
        brief_history="患者夜间睡眠中翻身时不慎牵拉导管，晨起发现敷料松脱、导管部分脱出。",
        nursing_exam="导管外露部分明显变长，穿刺点少量渗血，无红肿。胸片示导管尖端位于锁骨下"
        "静脉，已不在上腔静脉内。",
        treatment="告知患者切勿自行回送导管。导管尖端位置不符合中心静脉要求，患者剩余化疗周期"
        "较少，与医生及患者沟通后拔除导管，穿刺点按压止血后无菌敷料覆盖。",
        outcome="拔管顺利，导管完整；加强导管固定及居家宣教，后续治疗改用新置导管。",
        steps=(
            (0, "发现导管部分脱出，无菌敷料临时固定，禁止回送，行胸片定位"),
            (3, "胸片示尖端位于锁骨下静脉，与医生及患者沟通后拔除导管，导管完整"),
        ),
    ),
    ComplicationTemplate(
        type="THROMBOSIS", devices=("PICC",), status=ComplicationStatus.HANDLING,
        findings=("SWELLING",), arm_delta="2.5",
        brief_history="常规维护时患者诉近3天置管侧手臂轻度肿胀，活动后明显，无胸闷气促。",
        nursing_exam="臂围较基线增加2.5cm，上臂轻度凹陷性水肿，导管回血良好、推注通畅。血管"
        "超声示贵要静脉附壁血栓，未累及腋静脉。",
        treatment="报告主管医生，予利伐沙班口服抗凝；导管功能良好且仍需继续治疗，保留导管使用。"
        "指导患者抬高患肢，避免剧烈活动及按摩，观察有无胸闷气促，每3天随访测量臂围。",
        outcome=None,
        steps=(
            (0, "臂围增加2.5cm，触发血栓预警，报告医生并预约血管超声"),
            (6, "超声示贵要静脉附壁血栓，遵医嘱口服抗凝，保留导管，调整为A级随访"),
        ),
    ),
    ComplicationTemplate(
        type="PHLEBITIS", devices=("PICC",), status=ComplicationStatus.RESOLVED, grade=1,
        resolve_days=3, findings=("REDNESS", "TENDERNESS"),
        brief_history="患者诉穿刺点上方轻度疼痛2天，无发热。",
        nursing_exam="穿刺点上方沿静脉走向约2cm×1cm发红，无肿胀，未触及条索状静脉，无渗液，"
        "INS静脉炎分级1级。",
        treatment="抬高患肢，局部予50%硫酸镁湿敷，每日3次；指导握拳运动，增加观察频次。",
        outcome="3天后局部发红消退，疼痛缓解，导管继续使用。",
        steps=((0, "评估为1级机械性静脉炎，予50%硫酸镁湿敷，宣教握拳运动"),),
    ),
    ComplicationTemplate(
        type="PHLEBITIS", devices=("PICC", "MIDLINE"), status=ComplicationStatus.HANDLING,
        grade=2, findings=("REDNESS", "SWELLING", "TENDERNESS"),
        brief_history="患者诉近2天置管侧上臂疼痛，自行热敷后无明显缓解。",
        nursing_exam="穿刺点上方沿静脉走向发红约4cm，伴肿胀、压痛，未触及条索状静脉，"
        "INS静脉炎分级2级；体温36.9℃。",
        treatment="抬高患肢，局部外涂多磺酸粘多糖乳膏并以水胶体敷料外敷，每日评估；暂停经该"
        "导管输注刺激性药物，请静脉治疗小组会诊评估是否需要拔管。",
        outcome=None,
        steps=(
            (0, "评估为2级静脉炎，局部处理，暂停输注刺激性药物"),
            (24, "静脉治疗小组会诊：红肿范围较前缩小，继续保守处理，每日评估"),
        ),
    ),
    ComplicationTemplate(
        type="PHLEBITIS", devices=("PICC",), status=ComplicationStatus.RESOLVED, grade=3,
        resolve_days=7, findings=("REDNESS", "SWELLING", "TENDERNESS"),
        brief_history="置管后患者上臂活动较多，近3天出现穿刺点上方疼痛并逐渐加重。",
        nursing_exam="沿静脉走向红肿约6cm，可触及约2cm条索状静脉，压痛明显，无脓性渗出，"
        "INS静脉炎分级3级；血管超声未见血栓。",
        treatment="报告医生，抬高制动患肢，如意金黄散外敷联合50%硫酸镁湿敷，遵医嘱口服"
        "非甾体抗炎药止痛，每日测量臂围并观察。",
        outcome="处理7天后红肿消退，条索状静脉变软，导管继续使用。",
        steps=(
            (0, "评估为3级静脉炎，报告医生，急查血管超声排除血栓"),
            (72, "红肿范围缩小至3cm，疼痛减轻，继续外敷"),
            (168, "红肿消退，静脉炎缓解，恢复常规维护"),
        ),
    ),
    ComplicationTemplate(
        type="OCCLUSION_PARTIAL", devices=("PICC",), status=ComplicationStatus.RESOLVED,
        resolve_days=1, patency="PARTIAL", blood_return=False,
        brief_history="患者化疗间歇期居家，维护时发现冲管阻力增加，输液滴速减慢。",
        nursing_exam="回抽无回血，推注生理盐水有阻力；导管外露长度无变化，无打折，胸片示"
        "导管尖端位置正常。",
        treatment="排除机械性因素后，遵医嘱予尿激酶5000U/ml负压溶栓，保留30分钟后回抽，"
        "重复2次。",
        outcome="溶栓后回抽见回血，推注通畅；指导患者居家避免置管侧手臂长时间下垂及用力。",
        steps=(
            (0, "发现导管部分堵塞，排除导管打折及尖端异位"),
            (2, "尿激酶负压溶栓2次后回抽见回血，脉冲式冲管后推注通畅"),
        ),
    ),
    ComplicationTemplate(
        type="OCCLUSION_PARTIAL", devices=("PORT",), status=ComplicationStatus.RESOLVED,
        resolve_days=1, patency="PARTIAL", blood_return=False,
        brief_history="治疗间歇期常规维护，插入无损伤针后抽不到回血。",
        nursing_exam="无损伤针位置正确，推注通畅但回抽无回血；嘱患者改变体位、咳嗽后仍无回血；"
        "胸片示导管走行正常，无夹闭征象。",
        treatment="予尿激酶5000U/ml封管溶栓30分钟后回抽，见回血，以20ml生理盐水脉冲式冲管，"
        "肝素钠稀释液正压封管。",
        outcome="溶栓后回血良好，下次维护回抽顺畅。",
        steps=((0, "回抽无回血，胸片排除夹闭综合征后尿激酶溶栓，30分钟后回抽见回血"),),
    ),
    ComplicationTemplate(
        type="LOCAL_INFECTION", devices=("PICC",), status=ComplicationStatus.HANDLING,
        findings=("REDNESS", "EXUDATE", "TENDERNESS"),
        brief_history="患者诉穿刺点疼痛伴少量渗液2天，无发热寒战。",
        nursing_exam="穿刺点周围约1.5cm红肿，可见少量淡黄色渗液，局部压痛，导管外露长度无"
        "变化；T 36.8℃。渗液已送细菌培养。",
        treatment="葡萄糖酸氯己定消毒后改用藻酸盐银离子敷料覆盖，每2天换药；遵医嘱局部抗感染，"
        "监测体温，如出现发热立即抽取血培养。",
        outcome=None,
        steps=(
            (0, "穿刺点红肿渗液，留取分泌物培养，改用银离子敷料"),
            (48, "分泌物培养示金黄色葡萄球菌（甲氧西林敏感），红肿较前减轻，继续换药"),
        ),
    ),
    ComplicationTemplate(
        type="MARSI", devices=("PICC",), status=ComplicationStatus.RESOLVED, resolve_days=7,
        findings=("REDNESS",),
        brief_history="更换敷料时发现敷料边缘皮肤损伤，患者皮肤较薄，正在接受化疗。",
        nursing_exam="透明敷料边缘可见2处张力性水疱，直径约0.5cm，周围皮肤轻度发红，无渗液及"
        "感染征象。",
        treatment="去除敷料时采用0°/180°低角度移除法并使用粘胶去除剂；水疱处无菌抽吸后以水胶体"
        "敷料保护，涂抹皮肤保护剂后再无张力粘贴透明敷料。",
        outcome="1周后水疱吸收，皮肤完整。",
        steps=((0, "处理张力性水疱，改用无张力粘贴并使用皮肤保护剂"),),
    ),
    ComplicationTemplate(
        type="MARSI", devices=("PICC",), status=ComplicationStatus.OPEN, findings=("REDNESS",),
        brief_history="患者诉敷料覆盖处瘙痒明显3天，曾自行抓挠。",
        nursing_exam="敷料覆盖区域皮肤弥漫性发红，伴散在丘疹及表皮剥脱，考虑接触性皮炎型"
        "医用粘胶相关性皮肤损伤。",
        treatment="更换为低敏硅胶敷料，使用无痛保护膜；嘱患者勿抓挠，遵医嘱外用糠酸莫米松乳膏，"
        "缩短观察间隔。",
        outcome=None,
        steps=((0, "更换低敏敷料，外用药物，嘱2天后复查皮肤情况"),),
    ),
    ComplicationTemplate(
        type="MIGRATION", devices=("PICC",), status=ComplicationStatus.RESOLVED, resolve_days=2,
        external_delta="2.5",
        brief_history="患者近日剧烈咳嗽、呕吐，维护时发现导管外露长度较置管时变长。",
        nursing_exam="外露长度较置管记录增加2.5cm，回血良好，推注通畅，穿刺点无红肿。胸片示导管"
        "尖端位于上腔静脉中上段。",
        treatment="禁止将脱出部分送回体内。经医生评估尖端仍位于上腔静脉内，可继续使用，重新"
        "妥善固定并加用导管固定装置；指导患者避免剧烈活动，控制咳嗽呕吐。",
        outcome="此后连续维护外露长度稳定，导管功能良好。",
        steps=(
            (0, "外露长度增加2.5cm，触发移位预警，行胸片确认尖端位置"),
            (5, "医生阅片：尖端位于上腔静脉内，可继续使用，加用固定装置"),
        ),
    ),
    ComplicationTemplate(
        type="POCKET_INFECTION", devices=("PORT",), status=ComplicationStatus.HANDLING,
        findings=("REDNESS", "SWELLING", "TENDERNESS"),
        brief_history="患者诉输液港港座处疼痛3天，伴局部发红，自测体温37.8℃。",
        nursing_exam="港座周围皮肤红肿约3cm×4cm，皮温升高，压痛明显，无波动感及破溃；"
        "血常规白细胞11.2×10⁹/L。",
        treatment="暂停经输液港输液，改外周静脉给药；抽取外周血培养，遵医嘱静脉使用头孢唑林"
        "抗感染，每日观察局部。如抗感染无效或形成脓肿，需手术取出输液港。",
        outcome=None,
        steps=(
            (0, "发现囊袋红肿压痛，暂停使用输液港，报告医生"),
            (24, "外周血培养阴性，静脉抗感染中，红肿范围无扩大"),
        ),
    ),
    ComplicationTemplate(
        type="INFILTRATION", devices=("MIDLINE", "PICC"), status=ComplicationStatus.RESOLVED,
        resolve_days=3, findings=("SWELLING",), blood_return=False,
        brief_history="静脉输注抗生素过程中患者诉置管侧上臂胀痛。",
        nursing_exam="穿刺点上方肿胀约5cm×4cm，皮肤紧绷、皮温降低，回抽无回血，按渗出分级"
        "为2级。",
        treatment="立即停止输液，抬高患肢，局部冷敷；超声评估导管尖端位于静脉内、无血栓，"
        "重新固定后恢复使用并加强巡视。",
        outcome="3天后肿胀消退，导管回血良好，继续使用。",
        steps=(
            (0, "发现渗出，立即停止输液，抬高患肢并冷敷"),
            (4, "超声评估导管位置正常，重新固定后恢复输液"),
        ),
    ),
    ComplicationTemplate(
        type="PHLEBITIS", devices=("MIDLINE", "PICC"), status=ComplicationStatus.OPEN, grade=1,
        findings=("REDNESS",),
        brief_history="今日维护时患者诉穿刺点周围轻度疼痛。",
        nursing_exam="穿刺点周围约1cm发红，无肿胀，未触及条索状静脉，INS静脉炎分级1级。",
        treatment="局部50%硫酸镁湿敷，抬高患肢，指导握拳运动，2天后复评。",
        outcome=None,
        steps=((0, "评估为1级静脉炎，予局部湿敷，嘱2天后复查"),),
    ),
)  # fmt: skip

# --- Content --------------------------------------------------------------------------------

ARTICLES = (
    {
        "title": "PICC居家护理指南",
        "summary": "带着PICC回家，做好这几件事，减少感染、堵管和血栓。",
        "category": "居家护理",
        "device_types": ["PICC"],
        "keywords": ["PICC", "居家护理", "维护", "淋浴", "臂围"],
        "status": PublishStatus.PUBLISHED,
        "body": """PICC（经外周静脉置入中心静脉导管）可以在体内留置数月，帮助您安全、舒适地完成化疗、静脉营养等长期输液治疗。导管留在体内期间，日常护理做得好，就能大大减少感染、堵管和血栓的发生。

一、按时维护
PICC需要由专业护士每7天维护一次，包括冲封管、更换透明敷料和输液接头；如果使用纱布敷料，需每2天更换一次。请记住下次维护日期，本系统会在到期前提醒您。若敷料出现松动、卷边、潮湿、污染或穿刺点渗血，请当天到医院或就近的维护机构处理，不要等到下次维护日。

二、日常生活
1. 置管侧手臂可以做一般家务，如洗碗、扫地、穿衣，但避免提举超过5公斤的重物，避免引体向上、举哑铃、打羽毛球等上臂剧烈活动。
2. 可以淋浴，不宜盆浴、游泳或泡温泉。淋浴前用保鲜膜在穿刺部位上下缠绕两三圈，上下边缘用胶布贴紧；淋浴后检查敷料，若有潮湿应及时更换。
3. 衣袖宜宽松，穿衣时先穿置管侧，脱衣时后脱置管侧。
4. 每天多做握拳、松拳运动（每次握拳保持5秒），促进血液回流，预防血栓。
5. 置管侧手臂不要测量血压，也不要在置管侧进行静脉穿刺。

三、每天自我检查
请每天观察：穿刺点有无发红、肿胀、疼痛、渗液；手臂有无肿胀、发硬、酸胀；导管外露部分有无变长、打折、破损；敷料是否完整干燥。建议每周用软尺在肘横纹上方10厘米处测量臂围并记录，若比置管时增加2厘米以上，请及时就诊。

四、特别注意
导管体外部分切勿自行剪切、拉扯或往里送；如果导管意外脱出一部分，不要把它推回去，用胶布固定好后立即就医。做CT、磁共振等检查前，请告诉医生您带有PICC，非耐高压型PICC不能用于高压注射造影剂。""",
    },
    {
        "title": "输液港日常维护须知",
        "summary": "输液港埋在皮下、不影响洗澡，但仍需定期冲封管。",
        "category": "居家护理",
        "device_types": ["PORT"],
        "keywords": ["输液港", "PORT", "冲封管", "无损伤针"],
        "status": PublishStatus.PUBLISHED,
        "body": """完全植入式静脉输液港埋在皮肤下面，体外没有导管，不影响洗澡和日常活动，是需要长期、反复输液的患者的理想选择。输液港可以使用数年，但同样需要规范维护。

一、维护周期
治疗间歇期（不输液时），输液港需每4周由专业护士用无损伤针冲封管一次，防止堵管。持续输液期间，无损伤针一般每7天更换一次，针头处的敷料同时更换。请按本系统提醒的日期按时维护，外出旅行前也请提前安排好维护。

二、日常生活
1. 伤口愈合后即可淋浴，日常生活基本不受影响。
2. 避免撞击、挤压输液港部位，不要穿过紧的内衣，避免背包带长期压迫港座。
3. 置港侧手臂避免大幅度、剧烈的运动，如打篮球、举重、扩胸运动等，以防导管断裂或移位。
4. 不要自行按压、揉搓港座。

三、带针期间
持续输液或带着无损伤针回家时，要保持针头处敷料清洁干燥，妥善固定延长管，避免牵拉；洗澡时注意防水。如针头脱出，不要自行插回，用干净纱布按压后尽快就医。

四、需要警惕的情况
港座周围皮肤发红、肿胀、疼痛、破溃或有分泌物；同侧颈部、肩部、手臂肿胀或浅静脉明显；输液时局部疼痛或肿胀；发热、寒战。出现以上情况请尽快就医。请随身携带输液港维护手册，做增强CT前告诉医生您的输液港是否为耐高压型。""",
    },
    {
        "title": "带管期间出现这些情况，请立即就医",
        "summary": "发热寒战、手臂肿胀、导管脱出或断裂……这些信号不能等。",
        "category": "安全警示",
        "device_types": ["PICC", "PORT", "CVC", "MIDLINE"],
        "keywords": ["发热", "血栓", "导管脱出", "就医", "急诊"],
        "status": PublishStatus.PUBLISHED,
        "body": """无论您带的是PICC、输液港还是其他血管通路装置，大多数时候导管都能平稳使用。但以下情况可能提示严重并发症，需要尽快处理，请不要等到下次维护日。

一、立即就医（急诊）
1. 发热（体温≥38℃）或寒战，尤其在冲管、输液后不久出现——可能是导管相关血流感染。
2. 突发胸闷、气促、胸痛、心慌或咯血——可能是血栓脱落、空气栓塞或导管异位。
3. 导管断裂或破损、有液体或血液从破损处流出：立即在破损处靠近身体的一侧把导管折起并用胶布固定，保持平卧，马上就医。
4. 导管完全脱出，或穿刺点大量出血，用力按压10分钟以上仍不止血。

二、24小时内就诊
1. 置管侧手臂、肩部、颈部或面部肿胀、疼痛、发紧，或臂围比置管时增加2厘米以上——可能是静脉血栓。
2. 穿刺点或港座周围发红、肿胀、疼痛加重，或有脓性分泌物。
3. 导管外露长度比上次记录变长或变短2厘米以上，或导管部分脱出（切勿自行送回）。
4. 冲管或输液时阻力明显增大、推不动，或输液速度明显变慢。
5. 敷料松脱、潮湿、污染，或贴敷料处皮肤出现水疱、破溃、剧烈瘙痒。

三、就医时请携带
导管维护手册或本系统中的导管二维码、最近一次维护记录以及正在使用的药物清单。夜间或节假日请前往急诊，并告诉医生您带有何种导管。如有疑问，可在工作时间拨打静脉治疗专科门诊电话咨询。""",
    },
    {
        "title": "化疗期间的饮食与活动建议",
        "summary": "（草稿）化疗期间如何吃、如何动，帮助身体更好地耐受治疗。",
        "category": "健康生活",
        "device_types": [],
        "keywords": ["化疗", "饮食", "运动"],
        "status": PublishStatus.DRAFT,
        "body": """化疗期间保证充足的营养和适度的活动，有助于减轻乏力、维持体重、更好地耐受治疗。

一、饮食
少量多餐，选择高蛋白、易消化的食物，如鸡蛋、鱼肉、豆制品、牛奶；多吃新鲜蔬菜水果，食物要煮熟煮透；恶心明显时可选择清淡、偏干的食物，避免油腻和气味浓烈的饭菜。每天饮水1500-2000毫升（心肾功能不全者遵医嘱）。

二、活动
在体力允许时每天散步20-30分钟，避免劳累；带PICC的手臂不做剧烈运动。

（待营养科审核后发布）""",
    },
)

AGREEMENTS = (
    {
        "kind": AgreementKind.SERVICE,
        "title": "静脉通路全程管理服务协议",
        "body": """欢迎使用示范市第一人民医院静脉通路全程管理服务（以下简称“本服务”）。本服务通过微信公众号为带有PICC、输液港等血管通路装置的患者提供维护提醒、维护记录查询、报告上传、预约和健康宣教等功能。

1. 本服务提供的提醒和宣教内容仅供参考，不能替代医务人员的面对面诊疗。如出现发热、手臂肿胀、导管脱出等紧急情况，请立即就医或拨打120。
2. 您应保证绑定的就诊人信息真实、准确；为他人（如家属）代为管理时，应已取得其同意。
3. 维护提醒依赖网络和消息推送，可能因网络、设备或消息订阅设置等原因延迟或未送达，请同时牢记自己的维护日期。
4. 请妥善保管您的微信账号，不得将本服务用于违法用途，不上传与诊疗无关的内容。
5. 医院可根据医疗管理需要调整服务内容；协议更新时将在公众号内提示并重新征得您的同意。您可以随时解除绑定、停止使用本服务。

如对本协议有疑问，请在工作时间联系静脉治疗专科门诊。""",
    },
    {
        "kind": AgreementKind.PRIVACY,
        "title": "个人信息保护政策",
        "body": """我们重视您的个人信息和隐私保护，并依照《中华人民共和国个人信息保护法》处理您的个人信息。

1. 我们收集的信息：姓名、性别、出生日期、身份证号、手机号、导管置入及维护记录、并发症记录、您上传的检查报告和照片，以及提醒送达情况。其中身份证号、手机号和医疗健康信息属于敏感个人信息，我们仅在为您提供本服务所必需的范围内处理。
2. 使用目的：识别就诊人、在不同医疗机构之间匹配同一患者的导管记录、发送维护提醒、开展医疗质量管理和统计（统计数据经去标识化处理）。
3. 存储与安全：身份证号和手机号加密存储，工作人员查看、导出数据的行为全程留痕；数据存储于中华人民共和国境内。
4. 共享：仅在诊疗需要时，向为您提供维护服务的医疗机构和医务人员提供必要信息；除法律法规规定外，不向其他第三方提供。
5. 您的权利：您可以查阅、复制、更正您的个人信息，撤回授权或注销账号；撤回后我们将停止发送提醒，但依照病历管理规定应保存的诊疗记录除外。

如需行使上述权利或有任何疑问，请联系医院信息科或静脉治疗专科门诊。""",
    },
)


# --- The builder ----------------------------------------------------------------------------


@dataclass
class _Plan:
    """A catheter decided in full before anything is written (no UPDATEs later)."""

    person: int  # index into the people list
    device: str
    placed_on: date
    tier: str = "B"
    dressing: str = "TRANSPARENT"
    port_in_use: bool = False
    custom_cycle: int | None = None
    removed_on: date | None = None
    reason: str | None = None
    visits: list[date] = field(default_factory=list)
    catheter: Catheter | None = None
    complication: ComplicationTemplate | None = None
    onset_visit: int | None = None  # index into visits of the visit that found it
    onset_at: datetime | None = None  # when that visit took place


class _Builder:
    def __init__(
        self,
        session: Session,
        cipher: PiiCipher,
        d: Dictionary,
        today: date,
        seed: int,
        tz: ZoneInfo,
    ) -> None:
        self.s = session
        self.cipher = cipher
        self.d = d
        self.today = today
        self.seed = seed
        self.tz = tz
        self.rng = random.Random(f"{seed}/clinical")
        self.counts: dict[str, int] = {}
        self.staff_phones: set[str] = set()

    # -- helpers --

    def at(
        self, day: date, start: tuple[int, int] = (8, 0), end: tuple[int, int] = (16, 30)
    ) -> datetime:
        """A local working-hours moment on ``day``, as an aware UTC datetime."""
        lo, hi = start[0] * 60 + start[1], end[0] * 60 + end[1]
        minute = self.rng.randrange(lo, hi + 1)
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.tz)
        return local.astimezone(UTC)

    def visit_time(self, day: date) -> datetime:
        # a visit on ``today`` happened this morning, before anyone looks at the due list
        return self.at(day, (8, 0), (9, 30) if day == self.today else (16, 30))

    def pick(self, pairs: Sequence[tuple[T, float]]) -> T:
        return _weighted(self.rng, [p[0] for p in pairs], [p[1] for p in pairs])

    def code(self, list_name: str, wanted: str) -> str:
        """``wanted`` if the dictionary in force has it, else the list's first code."""
        if self.d.has_code(list_name, wanted):
            return wanted
        return next(iter(self.d.codes[list_name]))

    def cm(self, value: float) -> Decimal:
        return Decimal(f"{value:.1f}")

    def cycle(self, plan: _Plan) -> int:
        return rules.cycle_days(
            self.d,
            plan.device,
            dressing_type=plan.dressing,
            port_in_use=plan.port_in_use,
            tier=plan.tier,
            custom_cycle_days=plan.custom_cycle,
        )

    def next_due(self, plan: _Plan, last: date) -> date:
        return rules.next_due_on(
            self.d,
            plan.device,
            last,
            dressing_type=plan.dressing,
            port_in_use=plan.port_in_use,
            tier=plan.tier,
            custom_cycle_days=plan.custom_cycle,
        )

    def jittered_step(self, cycle: int) -> int:
        jitter = self.pick([(-1, 8), (0, 66), (1, 15), (2, 7), (4, 4)])
        return max(1, cycle + jitter)

    # -- institutions and staff --

    def institutions(self) -> None:
        home = Institution(
            city="杭州市", is_home=True, **{**HOME_INSTITUTION, "services": list(ALL_SERVICES)}
        )
        self.home = home
        self.home_departments = {
            code: Department(institution=home, code=code, name=name)
            for code, name in HOME_DEPARTMENTS
        }
        self.others: dict[str, Institution] = {}
        self.other_departments: dict[str, Department] = {}
        for spec in OTHER_INSTITUTIONS:
            spec = {**spec, "services": list(spec["services"])}
            dept_code, dept_name = spec.pop("department")
            inst = Institution(city="杭州市", is_home=False, **spec)
            self.others[inst.code] = inst
            self.other_departments[inst.code] = Department(
                institution=inst, code=dept_code, name=dept_name
            )
        self.s.add(home)
        self.s.add_all(self.others.values())
        self.s.add_all(self.home_departments.values())
        self.s.add_all(self.other_departments.values())
        self.counts["institutions"] = 1 + len(self.others)
        self.counts["departments"] = len(self.home_departments) + len(self.other_departments)

    def _staff(
        self,
        no: str,
        role: StaffRole,
        institution: Institution,
        department: Department | None,
        title: str | None,
        *,
        sex: str = "F",
        expert: bool = False,
        name: str | None = None,
        wecom: bool = True,
    ) -> Staff:
        if name is None:
            name = _person_name(self.rng, sex, self.rng.randrange(1968, 2000))
        phone = _phone(self.rng, self.staff_phones)
        return Staff(
            institution=institution,
            department=department,
            staff_no=no,
            name=name,
            role=role,
            title=title,
            is_vascular_expert=expert,
            phone_enc=self.cipher.encrypt(phone, context="staff.phone"),
            phone_index=self.cipher.blind_index(phone, kind="phone"),
            password_hash=None,  # staff set their own password at first login
            wecom_userid=no.lower() if wecom else None,
        )

    def staff(self) -> None:
        depts = self.home_departments
        # (department, title, vascular expert)
        nurse_specs = [
            ("IV_CLINIC", "副主任护师", True),
            ("IV_CLINIC", "主管护师", True),
            ("IV_CLINIC", "主管护师", True),
            ("IV_CLINIC", "主管护师", True),
            ("IV_CLINIC", "护师", False),
            ("IV_CLINIC", "护师", False),
            ("ONCOLOGY", "主管护师", True),
            ("ONCOLOGY", "护师", False),
            ("ONCOLOGY", "护师", False),
            ("HEMATOLOGY", "主管护师", False),
            ("HEMATOLOGY", "护师", False),
            ("ICU", "主管护师", False),
        ]
        self.nurses: list[Staff] = []
        for i, (dept, title, expert) in enumerate(nurse_specs, start=1):
            sex = "M" if i == 12 else "F"
            self.nurses.append(
                self._staff(f"N{i:04d}", StaffRole.NURSE, self.home, depts[dept], title,
                            sex=sex, expert=expert)
            )  # fmt: skip
        doctor_specs = [
            ("ONCOLOGY", "副主任医师", "M"),
            ("GENERAL_SURGERY", "主任医师", "M"),
            ("THORACIC_SURGERY", "副主任医师", "F"),
            ("ICU", "主治医师", "M"),
        ]
        self.doctors: dict[str, Staff] = {}
        for i, (dept, title, sex) in enumerate(doctor_specs, start=1):
            self.doctors[dept] = self._staff(
                f"D{i:04d}", StaffRole.DOCTOR, self.home, depts[dept], title, sex=sex
            )
        self.admin = self._staff(
            "admin", StaffRole.ADMIN, self.home, None, None, name="系统管理员", wecom=False
        )
        self.outside: dict[str, list[Staff]] = {}
        for i, (inst_code, title) in enumerate(OUTSIDE_CLINICIANS, start=1):
            clinician = self._staff(
                f"O{i:04d}",
                StaffRole.OUTSIDE_CLINICIAN,
                self.others[inst_code],
                self.other_departments[inst_code],
                title,
            )
            self.outside.setdefault(inst_code, []).append(clinician)
        self.experts = [n for n in self.nurses if n.is_vascular_expert]
        self.clinic_nurses = [n for n in self.nurses if n.department is depts["IV_CLINIC"]]
        everyone = [*self.nurses, *self.doctors.values(), self.admin]
        everyone += [c for group in self.outside.values() for c in group]
        self.s.add_all(everyone)
        self.s.flush()
        self.counts["staff"] = len(everyone)

    # -- patients --

    def patients(self) -> None:
        self.people = demo_people(self.seed, today=self.today)
        self.patient_rows: list[Patient] = []
        for p in self.people:
            self.patient_rows.append(
                Patient(
                    name=p.name,
                    sex=p.sex,
                    birth_date=p.birth_date,
                    id_card_enc=self.cipher.encrypt(p.id_card, context="patient.id_card"),
                    id_card_index=self.cipher.blind_index(p.id_card, kind="id_card"),
                    phone_enc=self.cipher.encrypt(p.phone, context="patient.phone"),
                    phone_index=self.cipher.blind_index(p.phone, kind="phone"),
                    hospital_patient_id=p.hospital_patient_id,
                    home_institution_id=self.home.id,
                )
            )
        self.s.add_all(self.patient_rows)
        self.s.flush()
        self.counts["patients"] = len(self.patient_rows)

    # -- catheter plans --

    def plan_catheters(self) -> list[_Plan]:
        rng = self.rng
        n = len(self.people)
        order = rng.sample(range(n), n)
        replaced = order[:12]  # an earlier catheter was removed, a new one is in place
        finished = order[12:18]  # their only catheter was removed
        replaced_reasons = dict(
            zip(
                replaced,
                ["COMPLICATION"] * 2 + ["ACCIDENTAL"] * 2 + ["END_OF_THERAPY"] * 6
                + ["PATIENT_REQUEST"] * 2,
                strict=True,
            )
        )  # fmt: skip
        finished_reasons = dict(
            zip(finished, ["END_OF_THERAPY"] * 4 + ["DEATH", "PATIENT_REQUEST"], strict=True)
        )
        in_place = n - len(finished)
        targets = ["overdue"] * 14 + ["due_today"] * 12 + ["due_soon"] * 14 + ["new"] * 8
        targets += ["ok"] * (in_place - len(targets))
        rng.shuffle(targets)

        plans: list[_Plan] = []
        for person in range(n):
            if person in finished_reasons:
                plans.append(self.plan_finished(person, finished_reasons[person]))
                continue
            reason = replaced_reasons.get(person)
            device = "PORT" if reason == "PATIENT_REQUEST" else self.pick(
                list(DEVICE_WEIGHTS.items())
            )  # fmt: skip
            current = self.plan_current(person, device, targets.pop(), replaced=reason is not None)
            if reason is not None:
                plans.append(self.plan_replaced(person, reason, current.placed_on))
            plans.append(current)
        return plans

    def plan_current(self, person: int, device: str, target: str, *, replaced: bool) -> _Plan:
        rng, today = self.rng, self.today
        plan = _Plan(person=person, device=device, placed_on=today)
        plan.tier = self.pick([("A", 15), ("B", 65), ("C", 20)])
        if device == "PORT":
            plan.port_in_use = rng.random() < 0.3
        elif target in ("overdue", "due_today", "due_soon") and rng.random() < 0.25:
            plan.dressing = "GAUZE"
        elif device == "PICC" and plan.tier == "B" and rng.random() < 0.03:
            plan.custom_cycle = 5
        cycle = self.cycle(plan)
        soon = max(1, self.d.due_soon_days)
        if target == "ok" and cycle <= soon:
            target = "due_soon"
        if target == "new" and cycle < 2:
            target = "due_today"

        lo, hi = PLACED_AGO[device]
        if replaced:
            hi = min(hi, 200)
        if target == "new":
            ago = rng.randint(1, cycle - 1)
            plan.placed_on = today - timedelta(days=ago)
            return plan  # placed within its first cycle: no maintenance yet
        if target == "overdue":
            choices = [-1, -1, -2, -2, -3, -4, -5, -6, -8, -12, -20]
            if device in ("CVC", "MIDLINE"):
                choices = [-1, -2, -3, -4, -5]
            offset = rng.choice(choices)
        elif target == "due_today":
            offset = 0
        elif target == "due_soon":
            offset = rng.randint(1, soon)
        else:
            offset = rng.randint(soon + 1, cycle)
        last = today + timedelta(days=offset - cycle)
        lo = max(lo, (today - last).days + 1)
        hi = max(hi, lo)
        ago = int(rng.triangular(lo, hi, lo + (hi - lo) * 0.25))
        plan.placed_on = today - timedelta(days=ago)
        visits = [last]
        day = last
        while True:
            day -= timedelta(days=self.jittered_step(cycle))
            if day <= plan.placed_on:
                break
            visits.append(day)
        plan.visits = visits[::-1]
        return plan

    def _forward_visits(self, plan: _Plan) -> None:
        assert plan.removed_on is not None
        cycle = self.cycle(plan)
        day = plan.placed_on + timedelta(days=self.jittered_step(cycle))
        while day < plan.removed_on:
            plan.visits.append(day)
            day += timedelta(days=self.jittered_step(cycle))

    def plan_replaced(self, person: int, reason: str, next_placed_on: date) -> _Plan:
        rng = self.rng
        if reason in ("COMPLICATION", "ACCIDENTAL", "PATIENT_REQUEST"):
            device = "PICC"
        else:
            device = self.pick([("CVC", 60), ("MIDLINE", 25), ("PICC", 15)])
        gap = rng.randint(7, 14) if reason == "COMPLICATION" else rng.randint(0, 5)
        removed_on = next_placed_on - timedelta(days=gap)
        room = 300 - (self.today - removed_on).days
        lo, hi = REMOVED_DWELL[device]
        dwell = rng.randint(min(lo, room), max(1, min(hi, room)))
        plan = _Plan(person=person, device=device, placed_on=removed_on - timedelta(days=dwell))
        plan.removed_on, plan.reason = removed_on, reason
        self._forward_visits(plan)
        return plan

    def plan_finished(self, person: int, reason: str) -> _Plan:
        rng = self.rng
        device = "PICC" if reason == "DEATH" else self.pick(
            [("PICC", 60), ("PORT", 15), ("CVC", 15), ("MIDLINE", 10)]
        )  # fmt: skip
        lo, hi = REMOVED_DWELL[device]
        ago = rng.randint(hi + 10, 300)
        dwell = rng.randint(lo, hi)
        plan = _Plan(person=person, device=device, placed_on=self.today - timedelta(days=ago))
        plan.removed_on, plan.reason = plan.placed_on + timedelta(days=dwell), reason
        self._forward_visits(plan)
        return plan

    def assign_complications(self, plans: list[_Plan]) -> None:
        """Attach each complication template to a catheter, at a visit that found it."""
        used: set[int] = set()
        for template in COMPLICATIONS:
            if template.removal:
                candidates = [
                    i for i, p in enumerate(plans)
                    if p.reason == template.removal and p.device in template.devices
                    and i not in used
                ]  # fmt: skip
            else:
                for device in template.devices:  # the first device type that has a candidate
                    candidates = [
                        i for i, p in enumerate(plans)
                        if p.removed_on is None and p.device == device
                        and len(p.visits) >= 3 and i not in used
                    ]  # fmt: skip
                    if candidates:
                        break
                # high-risk (tier A) patients first: a complication is why they are tier A
                candidates = [i for i in candidates if plans[i].tier == "A"] or candidates
            if not candidates:
                continue
            index = self.rng.choice(candidates)
            used.add(index)
            plan = plans[index]
            plan.complication = template
            if template.removal:
                # found at a visit shortly before the removal it led to
                assert plan.removed_on is not None
                onset = plan.removed_on - timedelta(days=template.removal_after_days)
                plan.visits = [v for v in plan.visits if v < onset] + [onset]
                plan.onset_visit = len(plan.visits) - 1
            elif template.status is ComplicationStatus.RESOLVED:
                # found some time ago and settled since
                settled = [
                    i for i in range(1, len(plan.visits) - 1)
                    if (self.today - plan.visits[i]).days > template.resolve_days + 2
                ]  # fmt: skip
                plan.onset_visit = self.rng.choice(settled[len(settled) // 2 :] or [1])
            else:
                back = [1, 2] if template.status is ComplicationStatus.OPEN else [1, 2, 2, 3]
                plan.onset_visit = len(plan.visits) - self.rng.choice(back)

    # -- catheters --

    def placement_fields(self, plan: _Plan) -> dict[str, Any]:
        rng, device = self.rng, plan.device
        f: dict[str, Any] = {}
        side = self.code("sides", "RIGHT" if rng.random() < 0.65 else "LEFT")
        attempts = self.pick([(1, 85), (2, 12), (3, 3)])
        f["attempts"] = attempts
        f["side"] = side
        if device == "PICC":
            brand, model, sizes, lot = self.pick(
                list(zip(PICC_MODELS, PICC_MODEL_WEIGHTS, strict=True))
            )
            fr, lumens = rng.choice(sizes)
            ecg = rng.random() < 0.7
            base = 38 if side == "RIGHT" else 42
            f.update(
                brand=brand, model=model, french_size=Decimal(fr), lumens=lumens,
                vein=self.code("veins", self.pick([("BASILIC", 70), ("BRACHIAL", 20),
                                                   ("CEPHALIC", 6), ("MEDIAN_CUBITAL", 4)])),
                techniques=["MST", "US", "ECG"] if ecg else ["MST", "US"],
                insertion_length_cm=self.cm(base + rng.randint(0, 12) * 0.5),
                external_length_cm=self.cm(rng.choice([0, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5])),
                arm_circumference_cm=self.cm(rng.uniform(22, 32)),
                tip_position=TIP_CAVOATRIAL,
                tip_confirmation=self.code("tip_confirmation", "ECG" if ecg else "XRAY"),
                planned_dwell_days=rng.choice([120, 180, 180, 240, 365]),
                lot_number=f"{lot}{rng.randrange(100000, 1000000)}",
            )  # fmt: skip
        elif device == "PORT":
            brand, model, port_model, port_fr, site = self.pick(
                list(zip(PORT_MODELS, PORT_MODEL_WEIGHTS, strict=True))
            )
            if site == "CHEST":
                vein = self.pick([("INTERNAL_JUGULAR", 70), ("SUBCLAVIAN", 30)])
                side = self.code("sides", "RIGHT" if rng.random() < 0.85 else "LEFT")
                length = rng.uniform(13, 18)
                pocket = f"{self.d.label('sides', side)}锁骨下约2横指胸壁皮下"
                arm = None
            else:
                vein = self.pick([("BASILIC", 75), ("BRACHIAL", 25)])
                length = rng.uniform(36, 44)
                pocket = f"{self.d.label('sides', side)}上臂内侧中段皮下"
                arm = self.cm(rng.uniform(22, 31))
            f.update(
                side=side, brand=brand, model=model, port_model=port_model,
                french_size=Decimal(str(port_fr)), lumens=1, vein=self.code("veins", vein),
                techniques=["SELDINGER", "US"], insertion_length_cm=self.cm(length),
                arm_circumference_cm=arm, tip_position=TIP_CAVOATRIAL,
                tip_confirmation=self.code("tip_confirmation", "XRAY"),
                port_site=self.code("port_sites", site), port_pocket=pocket,
                needle_gauge=self.pick([("22G", 85), ("20G", 15)]),
                needle_length_cm=self.cm(rng.choice([1.9, 1.9, 2.5])),
                port_in_use=plan.port_in_use, planned_dwell_days=rng.choice([730, 1095]),
                lot_number=f"{'RE' if brand == '巴德' else 'VP'}{rng.randrange(100000, 1000000)}",
            )  # fmt: skip
        elif device == "CVC":
            brand, model, fr, lumens = rng.choice(CVC_MODELS)
            vein = self.pick([("INTERNAL_JUGULAR", 60), ("SUBCLAVIAN", 30), ("FEMORAL", 10)])
            if vein == "FEMORAL":
                length, tip = rng.uniform(15, 20), "下腔静脉"
            elif vein == "SUBCLAVIAN":
                length, tip = rng.uniform(13, 15), "上腔静脉下段"
            else:
                length = rng.uniform(12, 13.5) if side == "RIGHT" else rng.uniform(14, 16)
                tip = "上腔静脉下段"
            f.update(
                brand=brand, model=model, french_size=Decimal(fr), lumens=lumens,
                vein=self.code("veins", vein), techniques=["SELDINGER", "US"],
                insertion_length_cm=self.cm(length), tip_position=tip,
                tip_confirmation=self.code("tip_confirmation", "XRAY"),
                planned_dwell_days=rng.choice([7, 14, 21, 28]),
                lot_number=f"{'RF' if brand == 'Arrow' else 'BB'}{rng.randrange(100000, 1000000)}",
            )  # fmt: skip
        else:  # MIDLINE
            brand, model, fr, lumens = rng.choice(MIDLINE_MODELS)
            f.update(
                brand=brand, model=model, french_size=Decimal(fr), lumens=lumens,
                vein=self.code("veins", self.pick([("BASILIC", 60), ("BRACHIAL", 25),
                                                   ("CEPHALIC", 15)])),
                techniques=["MST", "US"], insertion_length_cm=self.cm(rng.uniform(15, 20)),
                external_length_cm=self.cm(rng.choice([0, 0.5, 1, 2])),
                arm_circumference_cm=self.cm(rng.uniform(22, 32)), tip_position="腋静脉",
                planned_dwell_days=rng.choice([14, 21, 28]),
                lot_number=f"ML{rng.randrange(100000, 1000000)}",
            )  # fmt: skip
        roll = rng.random()
        if roll < 0.04:
            f["immediate_complications"] = "穿刺点少量渗血，局部加压包扎后止血"
        elif roll < 0.06:
            f["immediate_complications"] = "送管遇阻力，嘱患者转头并调整体位后顺利送入"
        return f

    def catheters(self, plans: list[_Plan]) -> None:
        rng = self.rng
        brought_in_sources = [
            self.others["XIHU_PH"],
            self.others["XIAOSHAN_2"],
            self.others["LINPING_1"],
        ]
        rows: list[Catheter] = []
        for plan in plans:
            patient = self.patient_rows[plan.person]
            f = self.placement_fields(plan)
            dept_code = self.pick(DEPARTMENT_BY_DEVICE[plan.device])
            indication = (
                self.pick(MIDLINE_INDICATIONS)
                if plan.device == "MIDLINE"
                else self.pick(INDICATIONS[dept_code])
            )
            if plan.device == "CVC" and dept_code != "ICU":
                indication = "长期静脉营养"
            placed_at = self.at(plan.placed_on, (8, 30), (16, 30))
            catheter = Catheter(
                patient_id=patient.id,
                device_type=plan.device,
                placed_at=placed_at,
                indication=indication,
                dressing_type=self.code("dressing_types", plan.dressing),
                tier=plan.tier,
                follow_up_cycle_days=plan.custom_cycle,
                dictionary_version=self.d.version,
                registered_by_id=rng.choice(self.clinic_nurses).id,
                responsible_staff_id=rng.choice(self.experts).id,
                created_at=placed_at + timedelta(minutes=rng.randint(20, 90)),
                **f,
            )
            catheter.updated_at = catheter.created_at
            if plan.device == "PORT" and f["port_site"] == "CHEST":
                inserter = self.doctors[rng.choice(["GENERAL_SURGERY", "THORACIC_SURGERY"])]
            elif plan.device == "CVC":
                inserter = self.doctors["ICU" if dept_code == "ICU" else "GENERAL_SURGERY"]
            else:
                inserter = rng.choice(self.experts)
            brought_in = plan.removed_on is None and bool(plan.visits) and rng.random() < 0.1
            if brought_in and plan.device in ("PICC", "PORT"):
                catheter.source = PlacementSource.BROUGHT_IN
                if rng.random() < 0.5 and plan.device == "PICC":
                    origin = rng.choice(brought_in_sources)
                    catheter.institution_id = origin.id
                    catheter.department_id = self.other_departments[origin.code].id
                    catheter.outside_institution_name = origin.name
                else:
                    catheter.outside_institution_name = rng.choice(FAR_HOSPITALS)
                catheter.inserter_name = None
            else:
                catheter.source = PlacementSource.HERE
                catheter.institution_id = self.home.id
                catheter.department_id = self.home_departments[dept_code].id
                catheter.inserter_id = inserter.id
                catheter.inserter_name = inserter.name
            if plan.tier == "A":
                catheter.follow_up_notes = rng.choice(
                    [
                        "高危：既往导管相关并发症，每3天随访，逾期1天通知责任护士",
                        "高危：肿瘤高凝状态，血栓风险高，关注臂围变化",
                        "高危：独居老人，依从性差，随访时提醒家属",
                    ]
                )
            elif plan.custom_cycle:
                catheter.follow_up_notes = "医嘱：敷料易卷边，每5天维护一次"
            if plan.visits:
                catheter.last_maintained_on = plan.visits[-1]
            if plan.removed_on is not None:
                catheter.state = CatheterState.REMOVED
                catheter.removed_on = plan.removed_on
            else:
                catheter.state = CatheterState.IN_PLACE
                catheter.next_due_on = self.next_due(
                    plan, plan.visits[-1] if plan.visits else plan.placed_on
                )
            plan.catheter = catheter
            rows.append(catheter)
        self.s.add_all(rows)
        self.s.flush()
        self.counts["catheters"] = len(rows)

    # -- complications, maintenance, removals --

    def _age(self, plan: _Plan, on: date) -> int:
        birth = self.people[plan.person].birth_date
        return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))

    def complications(self, plans: list[_Plan]) -> dict[int, Complication]:
        """Complications keyed by the index of their catheter's plan."""
        found: dict[int, Complication] = {}
        steps = 0
        for index, plan in enumerate(plans):
            t = plan.complication
            if t is None or plan.onset_visit is None:
                continue
            catheter = plan.catheter
            assert catheter is not None
            onset = plan.visits[plan.onset_visit]
            person = self.people[plan.person]
            day = (onset - plan.placed_on).days
            origin = catheter.outside_institution_name or self.home.name
            placed = plan.placed_on
            basic = (
                f"患者，{'男' if person.sex is Sex.MALE else '女'}，{self._age(plan, onset)}岁，"
                f"因{catheter.indication}需要，于{placed.year}年{placed.month}月{placed.day}日在{origin}经"
                f"{self.d.label('sides', catheter.side)}{self.d.label('veins', catheter.vein)}"
                f"置入{self.d.label('device_types', plan.device)}"
                f"（{catheter.brand} {catheter.french_size}Fr），置管第{day}天。"
            )
            reporter = self.rng.choice(self.experts)
            plan.onset_at = self.visit_time(onset)
            reported_at = plan.onset_at + timedelta(minutes=self.rng.randint(15, 45))
            complication = Complication(
                catheter_id=catheter.id,
                patient_id=catheter.patient_id,
                type=self.code("complications", t.type),
                onset_on=onset,
                grade=t.grade,
                basic_info=basic,
                brief_history=t.brief_history,
                treatment=t.treatment,
                nursing_exam=t.nursing_exam,
                status=t.status,
                outcome=t.outcome,
                led_to_removal=t.removal is not None,
                institution_id=self.home.id,
                reported_by_id=reporter.id,
                reported_at=reported_at,
                created_at=reported_at,
                updated_at=reported_at,
            )
            if t.status is ComplicationStatus.RESOLVED:
                resolved = reported_at + timedelta(days=t.resolve_days)
                if plan.removed_on is not None:
                    resolved = max(resolved, self.at(plan.removed_on, (9, 0), (11, 0)))
                midnight = datetime.combine(self.today, time(0), tzinfo=self.tz).astimezone(UTC)
                complication.resolved_at = max(reported_at, min(resolved, midnight))
            doctor = self.doctors.get(
                "ICU" if plan.device == "CVC" else "GENERAL_SURGERY" if plan.device == "PORT"
                else "ONCOLOGY"
            )  # fmt: skip
            for n, (hours, action) in enumerate(t.steps):
                at = reported_at + timedelta(hours=hours)
                if n and rules.local_date(at, self.tz) >= self.today:
                    break  # later steps have not happened yet
                staff = reporter if n % 2 == 0 or doctor is None else doctor
                complication.steps.append(ComplicationStep(at=at, staff_id=staff.id, action=action))
                steps += 1
            found[index] = complication
        self.s.add_all(found.values())
        self.s.flush()
        self.counts["complications"] = len(found)
        self.counts["complication_steps"] = steps
        return found

    def maintenance(self, plans: list[_Plan], found: dict[int, Complication]) -> None:
        rng = self.rng
        rows: list[MaintenanceRecord] = []
        removals: list[Removal] = []
        # a quarter of the patients are looked after partly by a clinic near home
        near: dict[int, Institution | None] = {}
        ward = [n for n in self.nurses if n.department is self.home_departments["ONCOLOGY"]]
        for index, plan in enumerate(plans):
            catheter = plan.catheter
            assert catheter is not None
            service = "PORT_MAINT" if plan.device == "PORT" else "PICC_MAINT"
            if plan.person not in near:
                near[plan.person] = None
                if rng.random() < 0.25:
                    near[plan.person] = rng.choice(
                        [self.others[c] for c in self.outside]  # institutions with clinicians
                    )
            local = near[plan.person]
            if local is not None and service not in local.services:
                local = None
            complication = found.get(index)
            template = plan.complication if complication is not None else None
            for i, visit in enumerate(plan.visits):
                onset = template is not None and i == plan.onset_visit
                outside = local is not None and not onset and rng.random() < 0.5
                if outside:
                    assert local is not None
                    institution = local
                    staff = rng.choice(self.outside[local.code])
                else:
                    institution = self.home
                    staff = rng.choice(self.clinic_nurses if rng.random() < 0.85 else ward)
                last = i == len(plan.visits) - 1
                found_before = plan.onset_visit is not None and i > plan.onset_visit
                rows.append(
                    self.record(plan, visit, institution, staff, last=last,
                                template=template if onset else None,
                                complication=complication if onset else None,
                                lasting=template if found_before else None)
                )  # fmt: skip
            if plan.removed_on is not None:
                assert plan.reason is not None
                template = plan.complication
                culture = template.tip_culture if template else None
                removals.append(
                    Removal(
                        catheter_id=catheter.id,
                        removed_on=plan.removed_on,
                        reason=self.code("removal_reasons", plan.reason),
                        catheter_intact=True,
                        tip_culture_sent=culture is not None,
                        tip_culture_result=culture,
                        dwell_days=rules.catheter_days(plan.placed_on, plan.removed_on, self.today),
                        institution_id=self.home.id,
                        staff_id=(
                            self.doctors["GENERAL_SURGERY"]  # a port comes out in theatre
                            if plan.device == "PORT"
                            else rng.choice(self.experts)
                        ).id,
                        notes=REMOVAL_NOTES.get(plan.reason),
                        created_at=self.at(plan.removed_on, (9, 0), (16, 30)),
                    )
                )
            if len(rows) > 2000:
                self.s.add_all(rows)
                self.s.flush()
                self.counts["maintenance_records"] = self.counts.get(
                    "maintenance_records", 0
                ) + len(rows)
                rows = []
        self.s.add_all(rows)
        self.s.add_all(removals)
        self.s.flush()
        self.counts["maintenance_records"] = self.counts.get("maintenance_records", 0) + len(rows)
        self.counts["removals"] = len(removals)

    def record(
        self,
        plan: _Plan,
        visit: date,
        institution: Institution,
        staff: Staff,
        *,
        last: bool,
        template: ComplicationTemplate | None,
        complication: Complication | None,
        lasting: ComplicationTemplate | None = None,
    ) -> MaintenanceRecord:
        """One visit; ``template`` is the complication found at it, ``lasting`` one found
        earlier whose signs persist (a migrated catheter stays out; a swollen arm is slow)."""
        rng, c = self.rng, plan.catheter
        assert c is not None
        if template is not None and plan.onset_at is not None:
            performed_at = plan.onset_at
        else:
            performed_at = self.visit_time(visit)
        port = plan.device == "PORT"
        external = c.external_length_cm
        if external is not None:
            external = external + self.cm(rng.choice([-0.5, 0, 0, 0, 0, 0, 0.5]))
            external = max(external, Decimal("0.0"))
        arm = c.arm_circumference_cm
        if arm is not None:
            arm = arm + self.cm(rng.choice([-0.5, -0.3, 0, 0, 0, 0.2, 0.5, 0.8]))
        if lasting is not None and lasting.external_delta and external is not None:
            external += Decimal(lasting.external_delta)
        if (
            lasting is not None
            and lasting.arm_delta
            and arm is not None
            and lasting.status is not ComplicationStatus.RESOLVED
        ):
            arm += Decimal(lasting.arm_delta) - Decimal("0.3")
        findings = ["NORMAL"]
        notes = rng.choice(ROUTINE_NOTES) if rng.random() < 0.3 else None
        if not last and not port and rng.random() < 0.06:
            minor, notes = rng.choice(MINOR_FINDINGS)
            findings = list(minor)
        patency, blood_return = "PATENT", rng.random() > 0.03
        if lasting is not None and lasting.status is not ComplicationStatus.RESOLVED:
            findings = list(lasting.findings)  # still being treated
            notes = f"{self.d.label('complications', lasting.type)}处理中，继续观察"
        if template is not None:
            findings = list(template.findings)
            patency, blood_return = template.patency, template.blood_return
            if template.arm_delta and c.arm_circumference_cm is not None:
                arm = c.arm_circumference_cm + Decimal(template.arm_delta)
            if template.external_delta and c.external_length_cm is not None:
                external = c.external_length_cm + Decimal(template.external_delta)
            notes = f"发现{self.d.label('complications', template.type)}，已登记并发症并按流程处理"
        findings = [self.code("site_findings", f) for f in findings]
        flags = rules.red_flags(
            self.d,
            baseline_external_cm=c.external_length_cm,
            external_cm=external,
            baseline_arm_cm=c.arm_circumference_cm,
            arm_cm=arm,
        )
        if port:
            in_use = plan.port_in_use
            flush_volume, lock, lock_volume = 20, HEPARIN_PORT, rng.choice([3, 5])
            dressing_changed = connector_changed = needle_changed = in_use
        else:
            gauze = plan.dressing == "GAUZE"
            flush_volume = rng.choice([10, 10, 20])
            lock = HEPARIN_CVC if plan.device == "CVC" else FLUSH_SALINE
            lock_volume = rng.choice([3, 5]) if plan.device == "CVC" else rng.choice([5, 10])
            dressing_changed = True
            connector_changed = not gauze or rng.random() < 0.35
            needle_changed = False
        return MaintenanceRecord(
            catheter_id=c.id,
            performed_at=performed_at,
            institution_id=institution.id,
            staff_id=staff.id,
            performed_by_name=staff.name,
            site_findings=findings,
            external_length_cm=external,
            arm_circumference_cm=arm,
            flushed=True,
            flush_solution=FLUSH_SALINE,
            flush_volume_ml=Decimal(flush_volume),
            locked=True,
            lock_solution=lock,
            lock_volume_ml=Decimal(lock_volume),
            dressing_changed=dressing_changed,
            dressing_type=c.dressing_type if dressing_changed else None,
            connector_changed=connector_changed,
            needle_changed=needle_changed,
            blood_return=blood_return,
            patency=self.code("patency", patency),
            catheter_intact=True,
            complication_id=complication.id if complication is not None else None,
            red_flags=[f.code for f in flags],
            next_due_on=self.next_due(plan, visit),
            notes=notes,
            created_at=performed_at + timedelta(minutes=rng.randint(5, 40)),
        )

    # -- content and the clinic --

    def content(self) -> None:
        author = self.experts[0]
        articles = []
        for i, spec in enumerate(ARTICLES):
            spec = dict(spec)
            published = spec["status"] is PublishStatus.PUBLISHED
            written = self.at(self.today - timedelta(days=90 - i * 20), (9, 0), (17, 0))
            articles.append(
                EducationArticle(
                    author_id=author.id,
                    published_at=written + timedelta(days=2) if published else None,
                    created_at=written,
                    updated_at=written + timedelta(days=2),
                    **spec,
                )
            )
        published_at = self.at(self.today - timedelta(days=120), (9, 0), (10, 0))
        agreements = [
            Agreement(
                version=1,
                published_at=published_at,
                created_by_id=self.admin.id,
                created_at=published_at - timedelta(days=3),
                **spec,
            )
            for spec in AGREEMENTS
        ]
        self.s.add_all(articles)
        self.s.add_all(agreements)
        self.counts["education_articles"] = len(articles)
        self.counts["agreements"] = len(agreements)

    def slots(self) -> None:
        clinic = self.home_departments["IV_CLINIC"]
        rows = []
        for ahead in range(1, 15):
            day = self.today + timedelta(days=ahead)
            if day.weekday() >= 5:
                continue
            sessions = [
                ("PICC_MAINT", (8, 0), (12, 0)),
                ("PICC_MAINT", (13, 30), (17, 0)),
                ("PORT_MAINT", (13, 30), (17, 0)),
            ]
            for service, start, end in sessions:
                rows.append(
                    AppointmentSlot(
                        institution_id=self.home.id,
                        department_id=clinic.id,
                        service=service,
                        starts_at=datetime.combine(day, time(*start), tzinfo=self.tz).astimezone(
                            UTC
                        ),
                        ends_at=datetime.combine(day, time(*end), tzinfo=self.tz).astimezone(UTC),
                        capacity=8,
                        booked=0,
                    )
                )
        self.s.add_all(rows)
        self.counts["appointment_slots"] = len(rows)


def seed_demo(
    session: Session,
    cipher: PiiCipher,
    d: Dictionary,
    *,
    today: date,
    seed: int = DEFAULT_SEED,
    tz: ZoneInfo = DEFAULT_TZ,
) -> dict[str, int]:
    """Write the demo data set as of the local date ``today``; returns the rows added per
    kind, or ``{}`` if the home institution exists already (nothing is written then).

    Only adds and flushes: the caller commits.
    """
    if session.scalar(select(Institution.id).where(Institution.code == HOME_CODE)) is not None:
        return {}
    b = _Builder(session, cipher, d, today, seed, tz)
    b.institutions()
    b.staff()
    b.patients()
    plans = b.plan_catheters()
    b.assign_complications(plans)
    b.catheters(plans)
    found = b.complications(plans)
    b.maintenance(plans, found)
    b.content()
    b.slots()
    session.flush()
    return b.counts
