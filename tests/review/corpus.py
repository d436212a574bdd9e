"""Clean Chinese text for false-hit measurement: generated modern prose + Debian fortunes-zh.

Generated text is built from everyday modern vocabulary (work, school, travel, shopping, tech,
weather) in simple sentence templates, with numbers, dates, English product names and punctuation
mixed in the way web text mixes them. It contains no library term by construction of the test
libraries (their terms are synthetic placeholders), so any hit is a false hit.
"""

from __future__ import annotations

import random
from pathlib import Path

FORTUNES_ZH = Path("/usr/share/games/fortunes/chinese")

SUBJECTS = [
    "我",
    "你",
    "他",
    "她",
    "我们",
    "大家",
    "老师",
    "同学",
    "经理",
    "客户",
    "医生",
    "工程师",
    "妈妈",
    "爸爸",
    "朋友",
    "邻居",
    "团队",
    "公司",
    "学校",
    "政府部门",
    "志愿者",
    "研究人员",
    "用户",
    "记者",
]
TIMES = [
    "今天",
    "明天",
    "昨天",
    "上午",
    "下午",
    "晚上",
    "周末",
    "最近",
    "去年",
    "明年",
    "刚才",
    "每天",
    "春节期间",
    "国庆节",
    "下个月",
    "这几年",
]
PLACES = [
    "在公司",
    "在家里",
    "在图书馆",
    "在地铁上",
    "在咖啡馆",
    "在医院",
    "在超市",
    "在会议室",
    "在实验室",
    "在公园",
    "在网上",
    "在北京",
    "在上海",
    "在深圳",
    "在成都",
    "在杭州",
]
VERBS = [
    "讨论",
    "学习",
    "购买",
    "设计",
    "研究",
    "整理",
    "分享",
    "参加",
    "准备",
    "完成",
    "检查",
    "发布",
    "安排",
    "体验",
    "优化",
    "记录",
    "介绍",
    "推荐",
    "修改",
    "测试",
]
OBJECTS = [
    "新产品的方案",
    "年度工作总结",
    "一份详细的报告",
    "手机的新功能",
    "城市交通规划",
    "健康饮食的建议",
    "周末的旅行计划",
    "人工智能的应用",
    "数据分析的结果",
    "孩子的学习情况",
    "社区的环保活动",
    "市场营销策略",
    "用户反馈的问题",
    "天气预报",
    "电影票",
    "新能源汽车",
    "在线课程",
    "项目进度",
    "预算表格",
    "会议纪要",
    "网站的界面",
    "软件版本更新",
]
ADVERBS = ["认真地", "仔细地", "很快地", "慢慢地", "一起", "顺利地", "耐心地", "积极地", "愉快地"]
TAILS = [
    "。",
    "！",
    "，",
    "然后回家休息。",
    "，大家都很满意。",
    "，效果还不错。",
    "，但是还需要改进。",
    "，感觉收获很大。",
    "？",
]
EXTRAS = [
    "iPhone 15",
    "Windows 11",
    "Python 3.11",
    "GPT-4",
    "5G网络",
    "2024年3月15日",
    "第3季度",
    "价格是299元",
    "温度大约25°C",
    "https://example.com/news",
    "（详见附件）",
    "《新闻联播》",
    "“双十一”",
    "约30%的用户",
]


def modern_text(n_chars: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    parts: list[str] = []
    size = 0
    while size < n_chars:
        sentence = (
            rng.choice(TIMES)
            + rng.choice(SUBJECTS)
            + rng.choice(PLACES)
            + rng.choice(ADVERBS)
            + rng.choice(VERBS)
            + rng.choice(OBJECTS)
            + (rng.choice(EXTRAS) if rng.random() < 0.2 else "")
            + rng.choice(TAILS)
        )
        if rng.random() < 0.1:
            sentence += "\n"
        parts.append(sentence)
        size += len(sentence)
    return "".join(parts)[:n_chars]


def fortunes_text() -> str:
    """Debian fortunes-zh (about 2 MB), without its terminal colour escapes; '' if not installed."""
    if not FORTUNES_ZH.exists():
        return ""
    import re

    text = FORTUNES_ZH.read_text("utf-8", errors="replace")
    return re.sub(r"\x1b\[[0-9;]*m", "", text)
