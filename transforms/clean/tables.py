"""The clean stage's data: script weights, navigation words, promo patterns and thresholds, kept
apart from the logic (``scripts``, ``dump``, ``boilerplate``). Fitted values are marked "fitted";
``python -m bench.extraction_eval`` picks them by 5-fold cross-validation (docs/extraction.md).
"""

from __future__ import annotations

import dataclasses
import re

# Horizontal spaces a dump spells in many ways (NBSP, thin spaces); each run becomes one ASCII space. The
# ideographic space (U+3000) and zero-width characters (word breaks in Thai and Khmer) are kept.
ODD_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f]+")

# Language of the candidate body lines
LANGUAGE_SAMPLE_CHARS = 2000  # enough text for a confident guess (the same guesses as 5,000 on the dev sets), cheap
MIN_LANGUAGE_PROBABILITY = 0.5
PROSE_UNITS = 80.0  # a line this long that ends like a sentence is a candidate body line before any language is known

# ------------------------------------------------------------------------------------ scripts

# Scripts and sentence ends are every stage's facts: ``transforms.text`` (SCRIPT_RANGES, UNSPACED_SCRIPTS,
# SENTENCE_END). Unspaced ("dense") scripts' length is counted in characters weighted by DENSE_WEIGHT, so that
# one line of Chinese weighs what the same line in English does.
DENSE_WEIGHT = 3.0  # one Han/kana/Thai character ~ three Latin characters of text (CJK-English parallel text)

# Scripts that mark no sentence end: a long enough line counts as a sentence.
NO_SENTENCE_MARK = frozenset({"thai"})

# Korean particles (josa) ending an eojeol: the stop-word signal for Korean, whose spaCy list holds stems.
KOREAN_JOSA = re.compile(r"(?:은|는|이|가|을|를|에|의|도|로|으로|와|과|에서|에게|까지|부터|만|고|며|다|요)$")

# ------------------------------------------------------------------------------- page-dump evidence

# Navigation and chrome words: a short line made only of these is a menu item in any page.
NAV_MAX_WORDS = 5  # ... short: this many words at most
NAV_WORDS = frozenset(
    """
    home menu search login log sign in out up register subscribe subscription newsletter newsletters share
    tweet email print comments comment related articles posts stories more read next previous prev article
    trending popular most latest top news video videos photos photo gallery podcast podcasts live follow us
    about contact privacy policy cookie cookies terms of use conditions advertise advertisement advertising
    sponsored skip to content main navigation sections section close open toggle account my profile all
    rights reserved copyright the and on our editor's choice also recommended tags topics categories
    world business sport sports politics opinion tech technology science health entertainment culture
    lifestyle travel weather markets economy local national international us uk europe asia africa
    facebook twitter instagram linkedin youtube whatsapp telegram pinterest reddit rss app apps download
    back jobs shop store donate support help faq sitemap english español français deutsch theme light dark
    font language languages edition view load loading show hide leave reply submit tip connect let s a
    главная новости поиск войти вход регистрация подписаться поделиться меню политика экономика общество
    спорт культура мир видео фото читать также еще ещё далее назад вперед контакты реклама
    首页 新闻 登录 注册 搜索 分享 更多 返回 订阅 视频 图片 热门 推荐 相关 阅读 评论 关于 联系 我们
    ホーム ログイン 検索 ニュース 会員登録 シェア 動画 写真 ランキング 関連記事 もっと見る トップ
    홈 로그인 회원가입 검색 뉴스 공유 구독 동영상 사진 많이 본 기사 관련기사 더보기 전체메뉴
    الرئيسية بحث تسجيل الدخول اشترك شارك أخبار فيديو صور المزيد اقرأ أيضا الأكثر قراءة
    início busca entrar assine compartilhe notícias mais lidas leia também buscar inicio noticias
    suche anmelden abonnieren teilen startseite nachrichten mehr lesen auch
    beranda cari masuk daftar bagikan berita terkini terpopuler baca juga lainnya
    """.split()  # noqa: SIM905 (a word list reads better as text)
)

# Calls to action and promos that sit inside an article body: an imperative or "for the latest" lead-in
# aimed at a platform, channel, app or subscription. A line is dropped only when it is short and matches.
PROMO_PATTERNS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(?:follow|join|like|find)\s+(?:us|our)\b.{0,80}\b(?:google news|twitter|facebook|instagram|telegram|"
        r"whatsapp|youtube|linkedin|tiktok|channel|app|x\b)",
        r"\bfor (?:the )?(?:latest|more|breaking)\b.{0,60}\b(?:follow|subscribe|sign up|download|visit|click|join)",
        r"\b(?:sign up|subscribe|register)\b.{0,40}\b(?:newsletter|our|for free|today|now|here)\b",
        r"\b(?:download|get)\s+(?:our|the)\b.{0,40}\bapp\b",
        r"\bclick here\b|\btap here\b",
        r"\bget the latest\b.{0,80}\b(?:on|from|in)\b",
        r"^\s*(?:read more|read also|also read|see also|related|recommended|more from|more on this|watch|listen)"
        r"\s*[:\-\u2013\u2014|»>]",
        r"\byour email address will not be published\b|\brequired fields are marked\b",
        r"\badvertis(?:e|ing) with us\b|\b(?:got|have) a (?:news )?tip\b|\bfollow\b.{0,30}\bcoverage\b",
        r"^\s*(?:advertisement|sponsored|ad|story continues below|continue reading|scroll to continue)\b.{0,30}$",
        r"\b(?:подпис(?:ывайтесь|ывайся|аться)|читайте (?:нас|также))\b",
        r"(?:关注我们|下载.{0,6}客户端|订阅我们|扫码关注|点击查看|阅读原文|相关阅读|责任编辑)",
        r"(?:フォローする|アプリをダウンロード|関連記事|続きを読む)",
        r"(?:구독하기|앱 다운로드|관련기사|무단 전재|재배포 금지)",
        r"(?:تابعونا|تابعوا|اشترك في|حمّل تطبيق|اقرأ أيضا|اقرأ أيضاً)",
    )
]
PROMO_MAX_CHARS = 220  # a promo is one short line; a long paragraph quoting "click here" is prose

# Lines that credit a photo or a wire: "(Reuters/Stringer)", "(File photo: Reuters)", "- With Reuters".
CREDIT_LINE = re.compile(r"^\s*(?:[-\u2013\u2014]\s*)?(?:with|via|source:)\s+[A-Z][\w&. ]{1,40}$|^\s*\([^()]{2,60}\)\s*$")


# Site footer lines: copyright and rights notices.
FOOTER_LINE = re.compile(
    r"^\W*(?:\u00a9|copyright\b)|all rights reserved|todos os direitos|alle rechte vorbehalten|все права защищены|"
    r"版权所有|저작권자|무단 ?전재|جميع الحقوق محفوظة",
    re.IGNORECASE,
)

# A cookie notice or a consent manager's table, in a site's own words ("This website uses cookies ...",
# "Necessary cookies are ...", "_ga 2 years ... sets this cookie to ...", a "Cookie Settings" link): an article
# about cookies (third-party cookies in a browser, a fine for cookies set without consent) says none of these.
COOKIE_LINE = re.compile(
    r"\b(?:(?:this|our) (?:web)?site uses|we use|we and our partners use|accept all|reject all|manage your|"
    r"necessary|functional|performance|analytics|analytical|advertisement|uncategori[sz]ed) cookies\b|"
    r"\bcookie consent plugin\b|\b(?:sets|uses) this (?:\w+ )?cookie\b|\b(?:this|the) cookie (?:is|records|stores|tracks)\b|"
    r"\bthis is an? \w+ cookie\b|^\W*cookies?\s+duration\s+description\b|"
    r"^\W*cookies? (?:settings|policy|preferences)\b.{0,40}$",
    re.IGNORECASE,
)


@dataclasses.dataclass(frozen=True)
class DumpSettings:
    """Evidence that a text is a flattened page, not an extracted article (fitted: threshold)."""

    short_units: float = 40.0  # a menu line is shorter than this (in weighted characters)
    menu_run: int = 4  # this many short, sentence-less lines in a row make a menu
    nav_weight: float = 2.0  # navigation lines and promos are strong evidence (tables and wire copy have none)
    promo_weight: float = 2.0
    menu_run_weight: float = 1.0  # a run of menu lines
    repeat_weight: float = 1.0  # a line printed more than once (a headline above the body and in a list) ...
    repeat_words: int = 3  # ... of this many words or more
    threshold: float = 6.0  # fitted: score at which a text counts as a page dump
    body_lines: float = 20.0  # fitted: evidence inside the prose counts 1 / (1 + prose lines / this)
    frame_weight: float = 2.0  # fitted: each line of the frame (the fewer of its two sides' lines)
    one_sided_weight: float = 0.25  # fitted: list evidence past the prose on one side only (the other side unframed)


@dataclasses.dataclass(frozen=True)
class LineSettings:
    """Line classes in jusText's terms, with lengths in weighted characters (fitted: marked)."""

    good_units: float = 100.0  # a body paragraph is this long, ...
    good_stopwords: float = 0.28  # ... has this share of stop words, and ends like a sentence
    long_units: float = 300.0  # ... or is this long, ends like a sentence and has a near-good share
    neargood_units: float = 45.0
    unmarked_units: float = 300.0  # a line this long with a good stop-word share is near-good without a sentence end
    neargood_stopwords: float = 0.18
    relative_good: float = 0.7  # ... or this share of the document's typical prose line, if lower
    relative_neargood: float = 0.45
    dense_stopwords: float = 0.10  # the stop-word share for dense scripts (characters covered)
    max_heading_units: float = 120.0  # a short line without a sentence end inside the body may be a subheading, ...
    max_heading_distance: int = 2  # ... when a good line follows within this many lines
    max_gap_lines: int = 10  # fitted: a bad stretch this short between two good runs is a promo, not the end
    gap_units: float = 400.0  # ... and holds at most this many units of text
    min_run_units: float = 30.0  # fitted: a separate good run joins the body when it holds this many units
    anchor_distance: int = 6  # a run starting this few lines after the headline is likely the body, ...
    anchor_bonus: float = 2.0  # fitted: ... so its mass counts this many times
    min_table_rows: int = 3  # this many rows in a row inside the body are a table of it, kept


# A comment thread under the body: a commenter's header ("Ann on May 2, 2018 at 4:47 pm said:", dated and
# timed, as blog engines print it) or a reply button on a line of its own.
COMMENT_HEADER = re.compile(  # the clock time right before the verb: "the minister said:" ending a news line is no comment
    r"^.{0,120}\b\d{1,2}[:.h]\d{2}\b(?:\s*(?:[ap]\.?m\.?|uhr|h))?\s*,?\s*"
    r"(?:said|says|wrote|writes|disse|diz|dijo|dice|schrieb|sagt|a écrit|dit)\s*:\s*$",
    re.IGNORECASE,
)
REPLY_LINE = re.compile(
    r"^\W*(?:reply|responder|responda|antworten|répondre|rispondi|ответить|balas|balasan|回复|返信|답글)\W*$", re.IGNORECASE
)

# A number standing alone in a line: results tables and price lists have them, menus do not.
STANDALONE_NUMBER = re.compile(r"(?:^|\s)[-+]?\d[\d.,:/-]*(?:\s|$)")
