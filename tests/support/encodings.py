"""Short news articles of our own in six languages, saved in the encodings archives use, built in memory
for tests: ``encoded_fixtures()`` maps a file name to (bytes, the exact text a decoder must return, kind)."""

from __future__ import annotations

import codecs

ARTICLES = {
    "en": (
        "Harbour Festival Draws Record Crowds\n\n"
        "LISBON, May 4 - The city's harbour festival drew more than 80,000 visitors on Saturday, organisers said. "
        "Mayor José Álvarez opened the event alongside the Norwegian chef Øyvind Sæther and the singer "
        "Zoë Müller, who performed a set of fado songs. \u201cWe have never seen queues like this,\u201d said "
        "Françoise Lefèvre, who runs a café near the quay. Tickets cost \u20ac12 \u2013 half the price of last "
        "year \u2013 and the proceeds go to the lifeboat service.\n"
    ),
    "fr": (
        "Le festival du port bat un record d'affluence\n\n"
        "LISBONNE, 4 mai - Plus de 80 000 visiteurs se sont pressés samedi sur les quais, selon les "
        "organisateurs. Le maire José Álvarez a inauguré la fête aux côtés du chef norvégien Øyvind Sæther. "
        "« Nous n'avions jamais vu de telles files d'attente », a déclaré Françoise Lefèvre, qui tient un café "
        "près du quai. Les bénéfices iront à la société de sauvetage en mer ; l'œuvre a déjà reçu 12 000 euros.\n"
    ),
    "ja": (
        "港祭りに過去最多の人出\n\n"
        "【リスボン４日】港祭りが土曜日に開かれ、主催者によると８万人を超える来場者が訪れた。"
        "市長は開会のあいさつで「これほどの行列は見たことがない」と述べた。"
        "入場券は１２ユーロで、収益は海難救助隊に寄付される。祭りは日曜日まで続く。\n"
    ),
    "ko": (
        "항구 축제에 역대 최다 인파\n\n"
        "리스본 4일 - 토요일에 열린 항구 축제에 8만 명이 넘는 방문객이 몰렸다고 주최 측이 밝혔다. "
        '시장은 개막식에서 "이런 줄은 처음 본다"고 말했다. 입장권은 12유로이며 수익금은 해양 구조대에 '
        "기부된다. 축제는 일요일까지 계속된다.\n"
    ),
    "ru": (
        "Фестиваль в порту собрал рекордное число гостей\n\n"
        "ЛИССАБОН, 4 мая - Более 80 000 человек посетили в субботу портовый фестиваль, сообщили организаторы. "
        'Мэр города открыл праздник вместе с норвежским поваром. "Мы никогда не видели таких очередей", - '
        "сказала хозяйка кафе у причала. Билет стоит 12 евро, а выручка пойдёт спасательной службе.\n"
    ),
    "zh": (
        "港口节吸引创纪录人潮\n\n"
        "【里斯本4日电】主办方表示，周六举行的港口节吸引了超过8万名游客。"
        "市长在开幕式上说：“我们从未见过这样的长队。”门票售价12欧元，收入将捐给海上救援队。"
        "节日将持续到周日。\n"
    ),
}

# A Latin-1 text cannot hold curly quotes, the euro sign or the oe ligature: its own variant.
LATIN1_EN = ARTICLES["en"].replace("\u201c", '"').replace("\u201d", '"').replace("\u20ac12", "12 euros").replace("\u2013", "-")

TXT = {
    "en": ["utf-8", "utf-8-sig", "utf-16", "utf-16-le-bom", "utf-16-be-bom", "utf-16-le", "utf-32", "cp1252", "latin-1"],
    "fr": ["utf-8", "utf-16", "cp1252"],
    "ja": ["utf-8", "utf-16-le-bom", "utf-16-be", "utf-32", "shift_jis", "euc_jp", "iso2022_jp"],
    "ko": ["utf-8", "utf-16-be-bom", "euc_kr"],
    "ru": ["utf-8", "utf-16", "koi8_r", "cp1251"],
    "zh": ["utf-8", "utf-16", "gb18030"],
}


def encode(text: str, encoding: str) -> bytes:
    if encoding == "utf-16-le-bom":
        return codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    if encoding == "utf-16-be-bom":
        return codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    return text.encode(encoding)  # Python's utf-16/utf-32 write a BOM, utf-8-sig too


def text_for(lang: str, encoding: str) -> str:
    if lang == "en" and encoding == "latin-1":
        return LATIN1_EN
    return ARTICLES[lang]


HTML_PAGE = (
    "<!DOCTYPE html>\n<html><head>{meta}<title>{title}</title></head>\n"
    "<body><article><h1>{title}</h1>\n{paragraphs}\n</article></body></html>\n"
)

RSS = (
    '<?xml version="1.0" encoding="{label}"?>\n<rss version="2.0"><channel><title>{chan}</title>'
    "<link>https://example.org/</link><description>news</description>\n{items}</channel></rss>\n"
)


def html_for(text: str, charset: str | None) -> str:
    title, body = text.split("\n\n", 1)
    meta = f'<meta charset="{charset}">' if charset else ""
    paragraphs = "\n".join(f"<p>{p}</p>" for p in body.strip().split("\n"))
    return HTML_PAGE.format(meta=meta, title=title, paragraphs=paragraphs)


def encoded_fixtures() -> dict[str, tuple[bytes, str, str]]:
    out = {}
    for lang, encodings in TXT.items():
        for encoding in encodings:
            text = text_for(lang, encoding)
            out[f"{lang}.{encoding}.txt"] = (encode(text, encoding), text, "text")
    for lang, encoding, charset in PAGES:
        html = html_for(text_for(lang, encoding), charset)
        out[f"{lang}.{encoding}.{'meta-' + charset.lower() if charset else 'nometa'}.html"] = (
            encode(html, encoding),
            html,
            "html",
        )
    for lang, encoding, label in FEEDS:
        title, body = ARTICLES[lang].split("\n\n", 1)
        items = f"<item><title>{title}</title><link>https://example.org/{lang}</link><description>{body.strip()}</description></item>\n"
        xml = RSS.format(label=label, chan=title, items=items)
        out[f"{lang}.{encoding}.rss"] = (encode(xml, encoding), xml, "feed")
    return out


PAGES = [
    ("en", "cp1252", "windows-1252"),
    ("en", "latin-1", "iso-8859-1"),
    ("fr", "cp1252", None),
    ("ja", "shift_jis", "Shift_JIS"),
    ("ja", "euc_jp", None),
    ("ko", "euc_kr", "euc-kr"),
    ("ko", "euc_kr", None),
    ("ru", "cp1251", "windows-1251"),
    ("ru", "koi8_r", None),
    ("zh", "gb18030", "gb2312"),
    ("zh", "gb18030", None),
    ("en", "utf-16", None),
    ("ja", "utf-8", None),
    ("ru", "utf-8", "windows-1251"),  # a stale label on a page re-saved as UTF-8
]
FEEDS = [("fr", "utf-16", "UTF-16"), ("ja", "utf-16-be-bom", "UTF-16"), ("ru", "utf-32", "UTF-32"), ("ko", "euc_kr", "EUC-KR")]
