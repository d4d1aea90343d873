"""The parse stage's heuristic tables: how dates, bylines and mastheads look in a page flattened to text.
Kept apart from the logic that uses them (``dates``, ``text``), as trafilatura keeps its xpaths."""

from __future__ import annotations

import re

HEADER_LINES = 15  # a page dump's masthead, title, byline and dateline sit in its first lines

# ---------------------------------------------------------------------------------------------- dates

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_WEEKDAY = r"(?:(?:Mon|Tues?|Wed(?:nes)?|Thu(?:rs)?|Fri|Sat(?:ur)?|Sun)(?:day)?\.?,?\s+)"
DATE_PATTERN = re.compile(
    rf"\b{_WEEKDAY}?(?:"
    rf"{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"  # June 23, 2021 / Nov 08, 2025
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}\.?,?\s+\d{{4}}"  # 23 June 2021
    r"|\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"  # ISO 8601
    r")(?:\s+(?:at\s+)?\d{1,2}:\d{2}(?:\s*[AaPp]\.?[Mm]\.?)?(?:\s+(?:UTC|GMT))?)?",
    re.IGNORECASE,
)
# Zone abbreviations a stated time may end with ("Tue, Sep 15 2020 10:01:41 EDT"), to their offset in seconds;
# dateutil knows only UTC and GMT and would read the others as UTC. Only abbreviations with one meaning:
# not CST (US Central or China), IST (India, Israel, Ireland), BST (British or Bangladesh), ET/PT (no season).
ZONE_ABBREVIATIONS = {
    "EST": -5 * 3600, "EDT": -4 * 3600, "CDT": -5 * 3600, "MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600,
    "PDT": -7 * 3600, "AKST": -9 * 3600, "AKDT": -8 * 3600, "HST": -10 * 3600, "CET": 3600, "CEST": 2 * 3600,
    "EET": 2 * 3600, "EEST": 3 * 3600, "WEST": 3600, "MSK": 3 * 3600, "JST": 9 * 3600, "KST": 9 * 3600,
    "AEST": 10 * 3600, "AEDT": 11 * 3600, "ACST": 34200, "ACDT": 37800, "AWST": 8 * 3600, "NZST": 12 * 3600,
    "NZDT": 13 * 3600,
}
DATE_LINE_LABEL = re.compile(r"^(?:published|updated|posted|date|last updated)\s*(?:on)?\s*:?\s*", re.I)
EARLIEST_YEAR = 1995  # a parsed date before this is a misreading, not a news date (htmldate's minimum too)
# A dateline in another language: a short line with a year (or a CJK date) that dateparser then reads.
DATELINE_CANDIDATE = re.compile(
    r"(?:19|20)\d{2}\s*[年년]|\b(?:19|20)\d{2}\b|[\u0660-\u0669\u06f0-\u06f9]{4}|\d{1,2}[./-]\d{1,2}[./-](?:19|20)?\d{2}\b"
)
DATELINE_NUMBERS = 2  # a year alone ("Copyright 2021") is no date: a day must be there too
DATELINE_WORDS = 10  # words besides the date (a label, a byline, a place) a dateline may carry
DATEPARSER_SETTINGS = {
    "PARSERS": ["absolute-time"],
    "REQUIRE_PARTS": ["day", "month", "year"],
    "PREFER_DATES_FROM": "past",
    "RETURN_AS_TIMEZONE_AWARE": False,
}

# htmldate settings: the original publication date (not the last update), with its time of day.
HTML_DATE_EXTRACTION = {"original_date": True, "extensive_search": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z"}

# -------------------------------------------------------------------------------------------- bylines

_NAME_TOKEN = r"[A-Z][\w'\u2019.\-]*"
_PERSON = rf"{_NAME_TOKEN}(?:\s+(?:de|van|von|bin|al|el|da|di|le)?\s*{_NAME_TOKEN}){{1,3}}"
BYLINE = re.compile(
    rf"^(?:(?P<by>by)\s+)?(?P<names>{_PERSON}(?:\s*(?:,|and|&)\s*{_PERSON})*?)"
    rf"(?:\s*[,|\u2013\u2014-]\s*(?P<org>[A-Z][\w'\u2019&.\- ]{{1,60}}))?$",
    re.IGNORECASE,
)
BYLINE_NAME_SEPARATOR = re.compile(r"\s*(?:,|\band\b|&)\s*", re.I)
MAX_BYLINE_WORDS = 10

# ------------------------------------------------------------------------------------------- mastheads
# (a headline's length is every stage's: transforms.text.HEADLINE_WORDS)

MASTHEAD_WORDS = (1, 5)  # a site name above the title: this many capitalised words

# ------------------------------------------------------------------------------- an HTML page's metadata
# Where publishers state a page's facts (docs/metadata.md measures each). Names are matched case-folded.

PUBLISHED_META = (  # <meta property|name|itemprop=...> holding the original publication time, best first
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "parsely-pub-date",
    "sailthru.date",
    "publish-date",
    "pubdate",
    "publishdate",
    "article:publicationdate",
    "iso-8601-publish-date",
    "cxenseparse:publishtime",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "date",
    "published",
    "published_at",
)
SITE_NAME_META = ("og:site_name", "application-name", "apple-mobile-web-app-title", "twitter:site", "dc.publisher", "publisher")
# A photo or video story (a headline, a stated time, a caption or summary, no article text): the summary the
# page states is its text, the longest of these <meta> (and its JSON-LD article's description); the page must
# say it is a story (og:type, or a JSON-LD article type other than a bare web page).
DESCRIPTION_META = ("og:description", "twitter:description", "description", "dc.description")
STORY_OG_TYPE = re.compile(r"^(?:article|video|photo|image)", re.I)
AUTHOR_META = ("author", "article:author", "parsely-author", "sailthru.author", "cxenseparse:author", "dc.creator", "byl")
ARTICLE_TYPES = frozenset(  # JSON-LD types whose headline, author and datePublished are the page's article's
    {"article", "newsarticle", "reportagenews", "analysisnewsarticle", "opinionnewsarticle", "blogposting",
     "backgroundnewsarticle", "reviewnewsarticle", "scholarlyarticle", "techarticle", "report", "liveblogposting",
     "socialmediaposting", "webpage", "videoobject", "review"}
)
# Segments a <title> or og:title is made of ("Headline - Section | Site"): the site's part is dropped.
TITLE_SEPARATOR = re.compile(r"\s+(?:[|\u2013\u2014\-:\u00b7\u00bb/]|::)\s+")
TITLE_SITE_WORDS = 5  # a segment of this many words or fewer, at either end, may be the site's name
HEADLINE_OVERLAP = 0.8  # word overlap (Jaccard) of a heading with the page's title that makes it the headline
H1_SECTION_WORDS = 3  # an h1 = a meta title with up to this many words before it ("Politics | <headline>")

# A date in the path of a URL: /2023/12/20/, /2023-12-20/, /20231220/, /2023/dec/21/ (English month names).
URL_DATES = (
    re.compile(r"/((?:19|20)\d{2})[/_-](0?[1-9]|1[0-2])[/_-](0?[1-9]|[12]\d|3[01])(?:/|[_-]|\.|$)"),
    re.compile(r"[/_-]((?:19|20)\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?:/|[_-]|\.|$)"),
    re.compile(rf"/((?:19|20)\d{{2}})/({_MONTH})/(0?[1-9]|[12]\d|3[01])(?:/|[_-]|\.|$)", re.I),
)
# A page that states its time in UTC prints the day and time its readers see near its headline ("Dec 22,
# 2023, 10:22 PM EST" under a page stamped 2023-12-23T03:22Z): that printed time gives the publisher's
# offset, so ``published_date`` is the day the outlet printed. Looked for in this many text nodes after the
# h1; a time of day is read by ``TIME_OF_DAY``; a line that says it is an update is not the publication's.
PRINTED_DATE_NODES = 40
# A date in numbers alone, day and month first in either order ("05/12/2020", "١ / ١٢ / ٢٠٢٠" once digits are
# read as numbers): when both could be the month, the reading depends on the locale, so it is no evidence.
NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,2})\s?[/-]\s?(\d{1,2})\s?[/-]\s?(?:\d{4}|\d{2})(?!\d)")
# With dots it is day first wherever it is written so (German, Russian, Polish, Turkish, Nordic...: "05.12.2020,
# 10:15" is 5 December), which dateparser read month first: rewritten as ISO before it is read.
DOTTED_DATE = re.compile(r"(?<![\d.])(0?[1-9]|[12]\d|3[01])\.(0?[1-9]|1[0-2])\.((?:19|20)\d{2})(?![\d.]),?")
PRINTED_LINE_CHARS = 120  # a longer text node is prose, not a dateline
TIME_OF_DAY = re.compile(
    r"(?<![\d.:/-])([01]?\d|2[0-3])\s?(?:[:.]|h\s?)([0-5]\d)(?![\d.:/-])(?:\s*([AaPp])\.?\s?[Mm]\b\.?)?"
)
UPDATE_LABEL = re.compile(
    r"\b(?:updated?|modified|edited|revised|mis à jour|aktualisiert|actualizad[oa]|atualizad[oa]|aggiornat[oa]|"
    r"bijgewerkt|обновлено|更新)", re.I
)
# The UTC offsets in use (the tz database): whole hours from -12 to +14 and these half and three-quarter
# hours. A gap between the printed time and the stated instant that is none of them (an update's time, an
# event's) gives no offset; the printed time is to the minute, so it may be this many minutes off.
UTC_OFFSETS_MINUTES = frozenset(
    [h * 60 for h in range(-12, 15)] + [-570, -210, 210, 270, 330, 390, 570, 630, 345, 525, 765]
)
PRINTED_TIME_SLACK_MINUTES = 1
DATE_AFTER_FETCH_SLACK_HOURS = 14  # a local time without its zone, read as UTC, may run this far ahead
# Where a publication time may come from, in the order tried on an HTML page (``parse.html.date_candidates``):
# "agreed" (htmldate's search when the page's stated time or URL has its day), "html" (the stated time:
# JSON-LD, <meta>), "url" (the URL's day), "printed" (the first dateline printed under the headline, not an
# update's), "search" (htmldate's alone: a date anywhere in the markup or text).
# docs/metadata.md measures the orders and chooses by site fold.
# "feed" (the feed entry's) and "input" (given with the document, a JSONL field) are placed by parse itself.
HTML_DATE_SOURCES = ("agreed", "html", "url", "printed", "search")
DATE_SOURCES = ("feed", "input", "html", "url", "text")

# ----------------------------------------------------------------------------------------------- authors
# A name in an author field that is not a person: an agency (kept in ``agency``), an outlet, a role, a date.

AGENCIES = {  # case-folded spelling -> the agency's name
    "ap": "AP", "associated press": "AP", "the associated press": "AP", "reuters": "Reuters",
    "thomson reuters": "Reuters", "afp": "AFP", "agence france-presse": "AFP", "agence france presse": "AFP",
    "dpa": "dpa", "deutsche presse-agentur": "dpa", "upi": "UPI", "united press international": "UPI",
    "bloomberg": "Bloomberg", "bloomberg news": "Bloomberg", "ians": "IANS", "pti": "PTI",
    "press trust of india": "PTI", "ani": "ANI", "efe": "EFE", "agencia efe": "EFE", "ansa": "ANSA",
    "xinhua": "Xinhua", "xinhua news agency": "Xinhua", "tass": "TASS", "ria novosti": "RIA Novosti",
    "interfax": "Interfax", "kyodo": "Kyodo", "kyodo news": "Kyodo", "yonhap": "Yonhap", "anadolu": "Anadolu",
    "anadolu agency": "Anadolu", "aap": "AAP", "australian associated press": "AAP", "pa": "PA", "pa media": "PA",
    "press association": "PA", "cp": "The Canadian Press", "the canadian press": "The Canadian Press",
    "canadian press": "The Canadian Press", "ap news": "AP", "bernama": "Bernama", "antara": "Antara",
    "wafa": "WAFA", "mena": "MENA", "sputnik": "Sputnik", "europa press": "Europa Press", "lusa": "Lusa",
    "apa": "APA", "sda": "SDA", "ats": "ATS", "belga": "Belga", "anp": "ANP", "ntb": "NTB", "tt": "TT",
    "ritzau": "Ritzau", "stt": "STT", "ctk": "ČTK", "pap": "PAP", "mti": "MTI", "ana-mpa": "ANA-MPA",
}
AGENCY_CREDIT = re.compile(r"\((?P<agency>[A-Z][\w .&-]{1,30})\)|\b(?:via|from|source:)\s+(?P<via>[A-Z][\w .&-]{1,30})$")
NOT_A_PERSON = re.compile(  # words that make an author field's entry an organisation, a role or a label
    r"\b(?:staff|desk|team|editors?|editorial|correspondents?|contributors?|newsroom|bureau|reporters?|"
    r"brandroom|sponsored|partner|press|news|media|magazine|daily|journal|times|post|gazette|telegram|"
    r"tribune|herald|network|group|inc|ltd|llc|nast|published|updated|posted|by|admin|guest|online|bio|"
    r"columnists?|writers?|photographer|photos?|images?|getty|shutterstock|opinion|contributing|senior|"
    r"\w+\.(?:com|net|org|co|uk|de|fr|ru|in|au))\b",
    re.IGNORECASE,
)
NAME_CREDENTIALS = re.compile(  # degrees and titles after a name ("Lauren Manaker MS, RDN, LD")
    r"(?:,?\s+(?:M\.?S|R\.?D\.?N|L\.?D|Ph\.?D|M\.?D|R\.?N|M\.?P\.?H|M\.?B\.?A|R\.?D|C\.?D\.?E|D\.?O|Esq|Jr|Sr|MSc|BSc)\.?)+$"
)
AUTHOR_SEPARATOR = re.compile(r"\s*(?:;|,|\band\b|&|\||\bund\b|\bet\b|\by\b|\bi\b|\bи\b|、|，)\s*")
MAX_NAME_WORDS = 5

# --------------------------------------------------------------------------------------- page dumps
DUMP_HEADER_LINES = 150  # a whole page flattened to text: its title may sit below a long menu
MENU_SEPARATOR = re.compile(r"\s[|\u2022\u00b7/>\u203a\u00bb]\s")  # "Home | World | Business": a menu line
MENU_SEPARATORS = 2  # this many separators in a line make it a menu (or a section list)
TITLE_FOLLOWERS = 8  # a title is followed within this many lines by its byline, dateline or prose
PROSE_WORDS = 15  # a line of this many words ending a sentence is prose (a standfirst or the body)
BYLINE_PREFIX = re.compile(r"^(?i:by|von|par|por|di|door|av|af|автор|текст)(?=[\s:]|[A-ZА-Я])\s*:?\s*")

# dateparser's languages for a dateline by its script (transforms.text.SCRIPT_RANGES; "latin" otherwise):
# a few dozen locales instead of all of them, which makes dateparser many times faster to load and run.
DATELINE_LANGUAGES = {
    "cyrillic": ("ru", "uk", "bg", "sr", "be", "mk", "kk"),
    "han": ("zh", "ja"),
    "kana": ("ja",),
    "hangul": ("ko",),
    "arabic": ("ar", "fa", "ur"),
    "hebrew": ("he",),
    "greek": ("el",),
    "thai": ("th",),
    "devanagari": ("hi", "mr", "ne", "bn"),
    "latin": ("en", "fr", "de", "es", "pt", "it", "nl", "id", "tr", "pl", "sv", "da", "nb", "fi", "cs", "ro",
              "hu", "ca", "hr", "sk", "sl", "ms", "vi", "tl", "sw", "az", "sq", "et", "lv", "lt"),
}
# A byline in the markup, read when the page's metadata names no person: a link to an author's page or an
# element marked as the author's, after the headline; names in the same block as the first one are kept.
AUTHOR_HREF = re.compile(
    r"/(?:authors?|writers?|staff|profiles?|people|autore?n?|auteurs?|journalists?|redakteur|byline|contributors?)/", re.I
)
AUTHOR_MARK = re.compile(r"\b(?:author|byline)(?:[_-]?(?:name|link))?\b", re.I)
BYLINE_BLOCK_LEVELS = 3  # the first byline name's ancestor this many levels up holds the byline
BYLINE_CHILDREN = 4  # an element with more children is a block around a byline (or an article), not a name
NAME_LABELS = re.compile(r"^(?:(?:written|posted|published|reported)\s+)?by\s+|\s+(?:published|updated|posted)(?:\s+on)?$", re.I)
