"""Place mentions to GeoNames places, offline: country_code, latitude, longitude, geonames_id, place_type.

A name is resolved in two passes. First the names with one reading (countries, US states, continents, or
a city much more populous than any namesake) fix the article's context: the countries and US states it is
about. Then each ambiguous name takes the candidate that context supports ("Paris" beside "Texas" is
Paris, TX); with no support it takes the most populous candidate only when that one dwarfs the rest, and
stays unresolved otherwise: an empty cell is better than a wrong pin on a map. A lone small town counts
only where the article's other places allow its country; a town written "Town, State" is read inside
that state; an ORG named after a place gets it as its home (docs/entities.md has the figures).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Optional

from transforms.entities.aliases import mention_name
from transforms.entities.gazetteer import Gazetteer, Place
from transforms.entities.tables import (
    AMBIGUOUS_NAMES,
    DEMONYM_LABELS,
    MAJOR_CITY,
    PLACE_KIND_WORDS,
    PLACE_LABELS,
    PLACE_NAMED_LABELS,
    PLACE_NAMED_ORGS,
    PLACE_TYPE_RANK,
    POPULATION_MARGIN,
    QUALIFIED,
    QUALIFIER_TYPES,
    SMALL_TOWN,
    STATE_TYPES,
)
from transforms.schema import PLACE_FIELDS, Entity


def geocode_mentions(
    gazetteer: Gazetteer,
    mentions: Sequence[tuple[str, str]],
    major_city: float = MAJOR_CITY,
    margin: float = POPULATION_MARGIN,
    named_places: str = PLACE_NAMED_ORGS,
    small_town: float = SMALL_TOWN,
    qualified: bool = QUALIFIED,
    qualifiers: Mapping[str, str] = MappingProxyType({}),
) -> list[Optional[Place]]:
    """(name, label) pairs of one article -> a Place or None each; labels that are not places give None,
    except a demonym ("Turkish", NORP), which is its country: gold sets count it as a place, and it is
    evidence of the article's countries; and (``named_places``: "whole") an ORG whose whole name is a place
    the article's other places support ("Edmonton" as a team in a story about Alberta), or ("leading") whose
    name opens with one ("Kentucky State Police", "Paris Regional Medical Center"): its home place.
    ``qualifiers``: a name -> the state or country written after it ("Paris" -> "Texas" from "Paris, Texas");
    a name written so ("Paris, Texas" as one mention) is qualified alike: it is read only inside that place
    (``qualified``: False ignores both)."""
    names = [mention_name(text).strip(" ,") if label in PLACE_LABELS else None for text, label in mentions]
    qualifiers = (
        {
            **{n: q for n, q in qualifiers.items() if _qualifies(gazetteer, n, q)},
            **{n: q for n in names if n and (q := _written_qualifier(gazetteer, n))},
        }
        if qualified
        else {}
    )
    demonyms = {
        mention_name(text): p
        for text, label in mentions
        if label in DEMONYM_LABELS and (p := gazetteer.demonyms.get(mention_name(text).lower()))
    }
    candidates = {n: gazetteer.candidates(n.rsplit(", ", 1)[0] if n in qualifiers else n) for n in names if n}
    sure = {**demonyms, **{n: p for n, c in candidates.items() if n not in qualifiers and (p := _unambiguous(c, small_town))}}
    strong = {p.country_code for p in sure.values() if p.country_code}
    for n, c in candidates.items():  # lone small towns join when the stronger places allow them
        if n not in sure and n not in qualifiers and (p := _unambiguous(c)) and (not strong or p.country_code in strong):
            sure[n] = p
    countries = {p.country_code for p in sure.values() if p.country_code}
    states = {p.admin1 for p in sure.values() if p.place_type in STATE_TYPES}
    context = _Context(countries, states, gazetteer.capitals, major_city, margin, small_town)
    resolved = {
        n: _qualified(gazetteer, c, qualifiers[n]) if n in qualifiers else sure.get(n) or _in_context(c, context)
        for n, c in candidates.items()
    }
    homes = {}
    for text, label in mentions if named_places else ():
        name = mention_name(text).strip(" ,")
        if label in PLACE_NAMED_LABELS and (home := _home(gazetteer, name, context, named_places == "leading", resolved)):
            homes[name] = home
    return [
        resolved.get(n)
        if n
        else demonyms.get(mention_name(text))
        if label in DEMONYM_LABELS
        else homes.get(mention_name(text).strip(" ,"))
        for n, (text, label) in zip(names, mentions)
    ]


def with_places(gazetteer: Gazetteer, entities: Sequence[Entity], text: str = "", **options) -> tuple[Entity, ...]:
    """The entities with their places filled in, geocoded by canonical name (so "York" after "New York"
    is New York, and every mention of one entity has one place); ``text``: the article's, where a place
    written "Town, State" is read inside that state; ``options``: ``geocode_mentions``'s fitted values
    (the benchmark's cross-validation varies them)."""
    qualifiers = written_qualifiers(entities, text)
    places = geocode_mentions(gazetteer, [(e.canonical, e.label) for e in entities], qualifiers=qualifiers, **options)
    return tuple(
        e if p is None else dataclasses.replace(e, **{name: getattr(p, name) for name in PLACE_FIELDS})
        for e, p in zip(entities, places)
    )


def written_qualifiers(entities: Sequence[Entity], text: str) -> dict[str, str]:
    """Place names written "Town, State" or "Town, Country" (the next place mention after a comma, as in
    "Paris, Texas", "COLUMBIA, Ky.", "London, Ontario"): the town's name -> the qualifier's."""
    places = sorted((e for e in entities if e.label in PLACE_LABELS), key=lambda e: e.start)
    out = {}
    for town, after in zip(places, places[1:]):
        between = text[town.end : after.start] if text else ""
        if between.strip() == "," and between.startswith(",") and "\n" not in between:
            out.setdefault(mention_name(town.canonical).strip(" ,"), mention_name(after.canonical).strip(" ,"))
    return out


def _written_qualifier(gazetteer: Gazetteer, name: str) -> Optional[str]:
    """A one-span "Paris, Texas": its qualifier's name, when the whole is no name of its own."""
    head, _, tail = name.rpartition(", ")
    return tail if head and not gazetteer.candidates(name) and _qualifies(gazetteer, head, tail) else None


def _qualifies(gazetteer: Gazetteer, town: str, qualifier: str) -> bool:
    """ "Town, Qualifier" places the town: every reading of it is a town (not a list of states or countries,
    "France, Germany") and the qualifier is a state or a country (not a list of towns, "Paris, London")."""
    towns = gazetteer.candidates(town)
    return (
        bool(towns)
        and all(p.place_type == "city" for p in towns)
        and any(q.place_type in QUALIFIER_TYPES for q in gazetteer.candidates(qualifier))
    )


def _qualified(gazetteer: Gazetteer, candidates: tuple[Place, ...], qualifier: str) -> Optional[Place]:
    """The most populous reading inside the qualifying state or country; none inside it (a village the
    gazetteer lacks): no place, rather than a namesake elsewhere."""
    within = [
        p
        for q in gazetteer.candidates(qualifier)
        if q.place_type in QUALIFIER_TYPES
        for p in candidates
        if p.country_code == q.country_code and (q.place_type not in STATE_TYPES or p.admin1 == q.admin1)
    ]
    return within[0] if within else None


@dataclasses.dataclass(frozen=True)
class _Context:
    """What the article's sure places say, and the fitted values that weigh it."""

    countries: set
    states: set
    capitals: frozenset
    major_city: float
    margin: float
    small_town: float


def _home(
    gazetteer: Gazetteer, name: str, context: _Context, leading: bool, resolved: Mapping[str, Optional[Place]]
) -> Optional[Place]:
    """The place an organisation is named after: its whole name read as a place the article's other places
    support; or (``leading``) its first words, when the article names that place by itself ("Paris" of
    "Paris Regional Medical Center" in a story placing Paris) or it is a country or state with no namesake
    town ("Kentucky State Police"), and the next word does not make it a longer place name ("Laurel County
    Sheriff's Office" is not Laurel's). Never a name that is also a word or a first name."""
    if name not in AMBIGUOUS_NAMES:
        candidates = gazetteer.candidates(name)
        supported = tuple(p for p in candidates if p.country_code in context.countries or p.admin1 in context.states)
        if supported:
            return _in_context(supported, context)
    words = name.split()
    for n in range(min(len(words) - 1, 3), 0, -1) if leading else ():
        part = " ".join(words[:n])
        if part in AMBIGUOUS_NAMES or words[n].strip(".,").lower() in PLACE_KIND_WORDS:
            continue
        if resolved.get(part):
            return resolved[part]
        sure = _unambiguous(gazetteer.candidates(part))
        if sure and sure.place_type in QUALIFIER_TYPES:
            return sure
    return None


def _unambiguous(candidates: tuple[Place, ...], small_town: float = 0) -> Optional[Place]:
    """The one reading of a name that needs no context, if it has one; a lone town under ``small_town``
    people is not one by itself (a village's namesake: "Heathrow" is a town in Florida as well as the
    airport the gazetteer lacks): it counts only where the article's other sure places leave its country
    open or name it (``geocode_mentions``)."""
    if not candidates:
        return None
    top = [p for p in candidates if p.place_type != "city"]
    if len(top) == 1 and not _city_rival(top[0], candidates):
        return top[0]
    lone = candidates[0] if len(candidates) == 1 else None
    return lone if lone and (lone.place_type != "city" or lone.population >= small_town) else None


def _in_context(candidates: tuple[Place, ...], context: _Context) -> Optional[Place]:
    countries, states, capitals, major_city, margin = (
        context.countries,
        context.states,
        context.capitals,
        context.major_city,
        context.margin,
    )
    in_state = [p for p in candidates if p.admin1 and p.admin1 in states]
    if len(in_state) == 1:
        return in_state[0]
    first = candidates[0] if candidates else None
    supported = in_state or [p for p in candidates if p.country_code in countries]
    if (
        first
        and first.place_type == "city"
        and first.population >= major_city
        and _dwarfs(candidates, margin)
        and (first in supported or not supported)
    ):
        return first  # Berlin in a US sports page; but London in a story about Canada is London, ON
    capital = [p for p in supported if p.geonames_id in capitals]
    if capital:  # a national capital beats a state of its name ("Washington" in a story about the US)
        return capital[0]
    if len(supported) == 1 or (supported and _dwarfs(supported, margin)):
        return supported[0]
    if len(supported) > 1:  # a state beats a city of its name
        return min(supported, key=lambda p: (PLACE_TYPE_RANK[p.place_type], -p.population))
    top = [p for p in candidates if p.place_type != "city"]
    if len(top) == 1:
        return top[0]
    if first is None or top or not _dwarfs(candidates, margin):
        return None
    # an unsupported town in an article whose places lie elsewhere: a namesake, unless it is big
    return first if not countries or first.population >= context.small_town else None


def _dwarfs(candidates: Sequence[Place], margin: float) -> bool:
    """The first (most populous) candidate is at least ``margin`` times the next one."""
    return len(candidates) == 1 or candidates[0].population >= margin * max(candidates[1].population, 1)


def _city_rival(top: Place, candidates: tuple[Place, ...]) -> bool:
    """A state named like a city of its country ("Washington", "New York", "Quebec") is ambiguous without
    context."""
    return top.place_type in STATE_TYPES and any(
        p.place_type == "city" and p.country_code == top.country_code for p in candidates
    )
