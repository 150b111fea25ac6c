"""What each indicator means, in the words shown beside it on the dashboard, written into the
exports and kept in docs/indicators.md (a unit test holds the two together)."""

from __future__ import annotations

from dataclasses import dataclass

LOCAL = "本系统定义（CLINICAL.md “Measures (A6.1)”）"


@dataclass(frozen=True)
class Definition:
    label: str  # 中文名称
    unit: str  # "例", "天", "%", "‰"
    text: str  # numerator, denominator, inclusions and exclusions, in Chinese
    source: str = LOCAL


CAPPED = "统计期末不晚于统计日（今天），之后的日子不计"
CATHETER_DAYS = (
    "导管日 = 导管在统计期内的留置天数：自置管日起至拔管日（仍留置者至统计期末）的天数，"
    "置管当日计1天、拔管当日不计；院外带入的导管自其置管日与在本系统登记日（登记时间的本地日期）"
    "中较晚的一日起计，即本院实际观察的天数，其并发症、拔管仍照常计入；"
    f"{CAPPED}"
)
NHSN = "NHSN 器械相关感染监测定义（CDC/NHSN Patient Safety Component Manual）"
NURSING = "国家护理质量数据平台 护理敏感质量指标（非计划拔管率）"

DEFINITIONS: dict[str, Definition] = {
    "placements": Definition(
        "置管例数",
        "例",
        "统计期内置管（置管时间按医院所在时区的日期落在统计期内）的导管数；含院外带入后在本系统登记的导管（按其置管日期）。",
    ),
    "maintenances": Definition(
        "维护例次",
        "例",
        "统计期内完成的维护记录数（按维护时间的本地日期）；一次维护登记计1例次，筛选条件按导管的类型、科室、机构、置管者。",
    ),
    "maintenance_on_time": Definition(
        "维护及时率",
        "%",
        "分子：分母中按时完成的到期日数，即在上一次维护（或置管）之后、到期日当天或之前完成了维护；"
        "分母：统计期内已过的维护到期日数——到期日来自置管"
        "（置管日 + 该导管类型的维护间隔，院外带入导管不计）"
        "及每次维护登记的下次到期日，每个设定的到期日计1次，到期日当天导管仍在位（未拔管）才计入，"
        "到期日须早于统计日（今天及以后的到期尚无结果，不计）。",
    ),
    "removals": Definition(
        "拔管例数",
        "例",
        "统计期内拔管（拔管日期落在统计期内）的导管数，按拔管原因分列见“拔管原因”表。",
    ),
    "dwell_days_mean": Definition(
        "平均留置天数",
        "天",
        "分子：统计期内拔管导管的留置天数之和（拔管登记的留置天数）；分母：统计期内拔管例数。",
    ),
    "dwell_days_median": Definition(
        "留置天数中位数",
        "天",
        "统计期内拔管导管留置天数的中位数（例数为偶数时取中间两数的平均）。",
    ),
    "catheter_days": Definition(
        "导管日数",
        "天",
        f"统计期内全部在位导管的导管日之和。{CATHETER_DAYS}。",
    ),
    "complications": Definition(
        "并发症例数",
        "例",
        "统计期内发生（发生日期落在统计期内）的并发症记录数，含各类型、各分级；按类型与分级分列见“并发症”表。",
    ),
    "complication_rate": Definition(
        "并发症发生率",
        "‰",
        "分子：统计期内发生的并发症例数；分母：同期导管日数；× 1000（每千导管日）。",
    ),
    "clabsi_rate": Definition(
        "中心静脉导管相关血流感染发生率（CLABSI/CRBSI）",
        "‰",
        "分子：统计期内发生的导管相关血流感染（CRBSI/CLABSI）例数，仅计中心静脉导管（PICC、输液港、CVC，"
        "不含中等长度导管），且发生日导管已留置超过2个日历日（置管当日为第1日，第3日及以后发生才计入），"
        "并且发生日当天或前一日导管仍在位（拔管次日发生仍计入，拔管后第2日及以后发生不计）；"
        "分母：同期中心静脉导管日数（计法同导管日）；× 1000（每千中心导管日）。",
        NHSN,
    ),
    "unplanned_removal": Definition(
        "非计划拔管率（全部导管）",
        "‰",
        "分子：统计期内非计划拔管例数（拔管登记为非计划：并发症、意外脱出等）；"
        "分母：同期导管日数；× 1000。",
        NURSING,
    ),
    "unplanned_removal_picc": Definition(
        "PICC非计划拔管率",
        "‰",
        "分子：统计期内PICC非计划拔管例数；分母：同期PICC导管日数；× 1000（每千导管日）。",
        NURSING,
    ),
    "unplanned_removal_cvc": Definition(
        "CVC非计划拔管率",
        "‰",
        "分子：统计期内CVC非计划拔管例数；分母：同期CVC导管日数；× 1000（每千导管日）。",
        NURSING,
    ),
    "thrombosis_rate": Definition(
        "导管相关性血栓发生率",
        "‰",
        "分子：统计期内发生的导管相关性血栓/深静脉血栓例数；"
        "分母：同期导管日数；× 1000（每千导管日）。",
    ),
    "reminder_reach": Definition(
        "提醒送达率（全部渠道）",
        "%",
        "分子：分母中已送达的提醒数（站内消息已写入；微信、短信的发送被平台接受，含窗口关闭后改发的服务通知）；"
        "分母：统计期内（按生成时间的本地日期）已发出的维护提醒数，不含尚在等待发送（免打扰）"
        "和被更新提醒取代而跳过的；无法送达（如无手机号）计入分母、不计分子。",
    ),
    "reminder_reach_inapp": Definition(
        "提醒送达率（站内消息）",
        "%",
        "同“提醒送达率”，仅计站内消息渠道的提醒。",
    ),
    "reminder_reach_mp": Definition(
        "提醒送达率（微信公众号）",
        "%",
        "同“提醒送达率”，仅计微信公众号渠道的提醒。",
    ),
    "reminder_reach_sms": Definition(
        "提醒送达率（短信）",
        "%",
        "同“提醒送达率”，仅计短信渠道的提醒。",
    ),
    "follow_up_response": Definition(
        "随访应答率",
        "%",
        "分子：分母中患者已回答的随访数；分母：随访日期落在统计期内且已发出的线上随访数，"
        "不含因拔管而停止且未回答的。",
    ),
}

# the order of the indicators table and of Dashboard.indicators
CODES = list(DEFINITIONS)

# The dictionary codes the indicators are computed by; publishing a dictionary without them
# is refused (bot.services.dictionary), or an edit would silently change the indicators.
UNPLANNED_BY_DEVICE = {"PICC": "unplanned_removal_picc", "CVC": "unplanned_removal_cvc"}
THROMBOSIS = "THROMBOSIS"  # catheter-related thrombosis (thrombosis_rate)
CENTRAL_DEVICES = ("PICC", "PORT", "CVC")  # flagged ``central``: central-line days (CLABSI)
