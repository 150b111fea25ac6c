"""The published articles that answer a patient's question (P7.1): BM25 (rank_bm25) over jieba
tokens of the articles' text, the title and keywords weighted above the summary, the category
and the body; colloquial words mapped to the articles' words (洗澡 / 淋浴 / 冲凉, P管 → PICC,
港 → 输液港, 贴膜 → 敷料 …); the patient's device type a boost. Nothing below ``THRESHOLD``:
the chat then says honestly that no article matches.

The index is built once per process and again when the published articles change (their
count and newest ``updated_at``; reading an article does not touch ``updated_at``).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import EducationArticle
from bot.models.enums import PublishStatus

from ..markdown import to_text

# Each field has its own BM25 index; an article's score is their weighted sum (BM25F-like:
# a word in the title or keywords counts more than one in the body, and a long body does not
# drown its title).
WEIGHTS = {"head": 3.0, "summary": 1.5, "body": 1.0}
# Below this score (after boosts) an article does not answer the question, in units of the
# IDF of a word found in one article only (scores grow with the log of the number of articles:
# the threshold follows them). Calibrated on bench/data/education_queries.yaml with the seeded
# 21 articles: every question's best article scores above 3.9 units, the off-topic questions
# below 2.1 (one exception, in the README).
THRESHOLD = 3.0
DEVICE_BOOST = 1.25  # an article for the patient's device
OTHER_DEVICE = 0.8  # an article only for other devices than the patient's
MENTIONED_DEVICE_BOOST = 1.3  # an article for a device the question names

# colloquial or variant words → the word the articles use (matched before segmenting;
# longest first, case-insensitive)
SYNONYMS: dict[str, str] = {
    "picc管": "PICC",
    "p管": "PICC",
    "pic管": "PICC",
    "皮克管": "PICC",
    "手臂上的管": "PICC",
    "胳膊上的管": "PICC",
    "输液港": "输液港",
    "化疗港": "输液港",
    "港体": "输液港",
    "港座": "输液港",
    "港": "输液港",
    "port": "输液港",
    "植入港": "输液港",
    "中心静脉导管": "CVC",
    "深静脉": "CVC",
    "中线导管": "中线导管",
    "淋浴": "洗澡",
    "冲凉": "洗澡",
    "沐浴": "洗澡",
    "洗个澡": "洗澡",
    "洗头": "洗澡",
    "泡澡": "盆浴",
    "泡温泉": "温泉",
    "游泳": "游泳",
    "贴膜": "敷料",
    "透明膜": "敷料",
    "膜": "敷料",
    "纱布": "敷料",
    "胶布": "敷料",
    "翘边": "卷边",
    "起边": "卷边",
    "湿了": "潮湿",
    "弄湿": "潮湿",
    "进水": "潮湿",
    "发烧": "发热",
    "烧": "发热",
    "体温高": "发热",
    "打寒颤": "寒战",
    "发冷": "寒战",
    "肿了": "肿胀",
    "肿": "肿胀",
    "粗了": "肿胀",
    "变粗": "肿胀",
    "血栓": "血栓",
    "堵了": "堵管",
    "堵住": "堵管",
    "不通": "堵管",
    "推不动": "堵管",
    "滴不下": "堵管",
    "掉出来": "脱出",
    "拔出来": "脱出",
    "滑出来": "脱出",
    "拽出来": "脱出",
    "扯出来": "脱出",
    "出来了一截": "脱出",
    "变长": "脱出",
    "拉出": "脱出",
    "断了": "断裂",
    "坐飞机": "乘机",
    "飞机": "乘机",
    "登机": "乘机",
    "安检": "乘机",
    "高铁": "火车",
    "动车": "火车",
    "出门": "旅行",
    "旅游": "旅行",
    "出差": "旅行",
    "核磁": "磁共振",
    "mri": "磁共振",
    "mr": "磁共振",
    "打药": "造影剂",
    "增强": "造影剂",
    "造影": "造影剂",
    "小孩": "儿童",
    "孩子": "儿童",
    "宝宝": "儿童",
    "娃": "儿童",
    "小朋友": "儿童",
    "睡觉": "睡眠",
    "压着": "睡眠",
    "侧睡": "睡眠",
    "衣服": "穿衣",
    "袖子": "穿衣",
    "吃什么": "饮食",
    "吃不下": "饮食",
    "吃饭": "饮食",
    "吃东西": "饮食",
    "营养": "饮食",
    "喝水": "饮水",
    "多少水": "饮水",
    "管子": "导管",
    "胳膊": "手臂",
    "胳臂": "手臂",
    "平时": "日常",
    "平常": "日常",
    "锻炼": "运动",
    "活动": "运动",
    "做操": "运动",
    "握拳": "功能锻炼",
    "拔管": "拔管",
    "拔了": "拔管",
    "拔掉": "拔管",
    "取出": "拔管",
    "取港": "拔管",
    "换药": "维护",
    "冲管": "维护",
    "维护": "维护",
    "带什么": "携带",
    "多久": "周期",
    "几天": "周期",
    "发红": "发红",
    "红": "发红",
    "痒": "瘙痒",
    "疼": "疼痛",
    "痛": "疼痛",
    "流血": "出血",
    "渗血": "出血",
    "流水": "渗液",
    "针": "无损伤针",
    "扎针": "无损伤针",
    "刚放": "置管",
    "刚置": "置管",
    "刚装": "置管",
    "刚埋": "置管",
    "刚做完": "置管",
    "第一天": "24小时",
}
# words the segmenter keeps whole (the articles' own terms)
TERMS = [
    "PICC",
    "输液港",
    "中线导管",
    "无损伤针",
    "敷料",
    "冲封管",
    "堵管",
    "脱出",
    "血栓",
    "造影剂",
    "磁共振",
    "臂围",
    "卷边",
    "乘机",
    "功能锻炼",
    "盆浴",
    "24小时",
    "拔管",
]
_STOP = """
的 了 吗 呢 吧 啊 呀 哦 嘛 么 是 我 你 他 她 它 我们 有 在 和
与 或 也 都 就 还 要 会 能 可以 可不可以 能不能 怎么 怎么办 怎么样
怎样 如何 什么 哪些 为什么 请问 一下 这个 那个 这样 那样 一 个 这
那 后 时 时候 需要 应该 注意 注意事项 事项 没 不 好 对 给 让 把
被 到 上 下 里 医生 护士 自己 一点 有点 现在 今天 昨天 还是 就是
但是 如果 已经 可能 这种 情况 医院 附近 起来 关系 回去 哪 啥 咋
咋办 东西 有没有 是不是 会不会 要紧 正常 跟 人 想 去 来 说 做 用
看 多 少 再 又 很 太 最 更 等 从 向 以 为 之 其 此 而 并 及
等等 您 你们 他们
"""
STOP_WORDS = set(_STOP.split())
_WORD = re.compile(r"[\w\u4e00-\u9fff]")
_SYNONYM_RE = re.compile(
    "|".join(re.escape(k) for k in sorted(SYNONYMS, key=len, reverse=True)), re.IGNORECASE
)


@dataclass(frozen=True)
class Match:
    id: int
    title: str
    summary: str
    score: float


@cache
def _tokenizer() -> Any:
    import jieba

    jieba.setLogLevel(60)
    t = jieba.Tokenizer()  # its own dictionary: the global one serves names.py
    for term in TERMS:
        t.add_word(term, freq=200000)
    return t


def tokens(text: str) -> list[str]:
    """The words of ``text`` that carry meaning: synonyms mapped, stop-words and punctuation
    dropped, Latin letters upper-cased (PICC, CT)."""
    mapped = _SYNONYM_RE.sub(lambda m: f" {SYNONYMS[m.group(0).lower()]} ", text or "")
    out = []
    for word in _tokenizer().cut_for_search(mapped):
        word = word.strip().upper()
        if not word or not _WORD.search(word) or word in STOP_WORDS:
            continue
        out.append(SYNONYMS.get(word.lower(), word))
    return out


@dataclass
class _Index:
    key: tuple[int, datetime | None]
    ids: list[int]
    titles: list[str]
    summaries: list[str]
    devices: list[set[str]]
    fields: dict[str, Any]  # field → its BM25 index over the articles


_lock = threading.Lock()
_index: _Index | None = None


def search(
    session: Session,
    question: str,
    *,
    device_types: Sequence[str] = (),
    limit: int = 3,
    threshold: float = THRESHOLD,
) -> list[Match]:
    """The published articles that best answer ``question``, best first, at most ``limit``,
    none scoring under ``threshold`` (``THRESHOLD``); ``device_types`` are the patient's
    devices."""
    words = tokens(question)
    if not words:
        return []
    index = _current(session)
    if not index.ids:
        return []
    scores = [0.0] * len(index.ids)
    for name, bm25 in index.fields.items():
        for i, score in enumerate(bm25.get_scores(words)):
            scores[i] += WEIGHTS[name] * float(score)
    floor = threshold * _rare_idf(len(index.ids))
    mine = set(device_types)
    named = {d for d, w in (("PICC", "PICC"), ("PORT", "输液港"), ("CVC", "CVC")) if w in words}
    ranked = []
    for i, score in enumerate(scores):
        devices = index.devices[i]
        if devices and named & devices:
            score *= MENTIONED_DEVICE_BOOST
        if devices and mine:
            score *= DEVICE_BOOST if mine & devices else OTHER_DEVICE
        if score >= floor:
            ranked.append(Match(index.ids[i], index.titles[i], index.summaries[i], score))
    ranked.sort(key=lambda m: (-m.score, m.id))
    return ranked[:limit]


def _idf(n: int, of: int) -> float:
    """Lucene's IDF of a word found in ``n`` of ``of`` articles."""
    return math.log(1 + (of - n + 0.5) / (n + 0.5))


def _rare_idf(of: int) -> float:
    return _idf(1, of)


def _current(session: Session) -> _Index:
    """The index of the published articles, built again when they changed."""
    global _index
    published = EducationArticle.status == PublishStatus.PUBLISHED
    count, newest = session.execute(
        select(func.count(EducationArticle.id), func.max(EducationArticle.updated_at)).where(
            published
        )
    ).one()
    key = (int(count), newest)
    with _lock:
        if _index is not None and _index.key == key:
            return _index
        rows = session.scalars(
            select(EducationArticle).where(published).order_by(EducationArticle.id)
        ).all()
        _index = _build(key, rows)
        return _index


def _bm25(docs: list[list[str]]) -> Any:
    """BM25 with Lucene's IDF, log(1 + (N − n + 0.5) / (n + 0.5)): never negative, so a word
    in most articles — or in the only one — still counts a little (rank_bm25's Okapi IDF is
    negative there and the hospital starts with a handful of articles)."""
    from rank_bm25 import BM25Okapi

    class Lucene(BM25Okapi):
        def _calc_idf(self, nd: dict[str, int]) -> None:
            self.idf = {word: _idf(n, self.corpus_size) for word, n in nd.items()}

    return Lucene(docs)


def _build(key: tuple[int, datetime | None], rows: Sequence[EducationArticle]) -> _Index:
    texts = {
        "head": [f"{a.title} {' '.join(a.keywords or [])}" for a in rows],
        "summary": [f"{a.summary or ''} {a.category or ''}" for a in rows],
        "body": [to_text(a.body) for a in rows],
    }
    return _Index(
        key=key,
        ids=[a.id for a in rows],
        titles=[a.title for a in rows],
        summaries=[a.summary or to_text(a.body)[:80] for a in rows],
        devices=[set(a.device_types or []) for a in rows],
        fields={name: _bm25([tokens(t) or ["∅"] for t in column]) for name, column in texts.items()}
        if rows
        else {},
    )


def forget() -> None:
    """Drop the cached index (tests that rewrite articles within one second)."""
    global _index
    with _lock:
        _index = None
