"""Place mentions to GeoNames places, offline: country_code, latitude, longitude, geonames_id, place_type.

A name is resolved in two passes. First the names with one reading (countries, US states, continents, or
a city much more populous than any namesake) fix the article's context: the countries and US states it is
about. Then each ambiguous name takes the candidate that context supports ("Paris" beside "Texas" is
Paris, TX); with no support it takes the most populous candidate only when that one dwarfs the rest, and
stays unresolved otherwise: an empty cell is better than a wrong pin on a map.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Optional

from transforms.entities.aliases import mention_name
from transforms.entities.gazetteer import Gazetteer, Place
from transforms.entities.tables import (
    AMBIGUOUS_NAMES,
    DEMONYM_LABELS,
    MAJOR_CITY,
    PLACE_LABELS,
    PLACE_NAMED_LABELS,
    PLACE_NAMED_ORGS,
    PLACE_TYPE_RANK,
    POPULATION_MARGIN,
    STATE_TYPES,
)
from transforms.schema import PLACE_FIELDS, Entity


def geocode_mentions(
    gazetteer: Gazetteer,
    mentions: Sequence[tuple[str, str]],
    major_city: float = MAJOR_CITY,
    margin: float = POPULATION_MARGIN,
    named_places: bool = PLACE_NAMED_ORGS,
) -> list[Optional[Place]]:
    """(name, label) pairs of one article -> a Place or None each; labels that are not places give None,
    except a demonym ("Turkish", NORP), which is its country: gold sets count it as a place, and it is
    evidence of the article's countries; and (``named_places``) an ORG whose whole name is a place the
    article's other places support ("Edmonton" as a team in a story about Alberta): its home place."""
    names = [mention_name(text).strip(" ,") if label in PLACE_LABELS else None for text, label in mentions]
    demonyms = {
        mention_name(text): p
        for text, label in mentions
        if label in DEMONYM_LABELS and (p := gazetteer.demonyms.get(mention_name(text).lower()))
    }
    candidates = {n: gazetteer.candidates(n) for n in names if n}
    sure = {**demonyms, **{n: p for n, c in candidates.items() if (p := _unambiguous(c))}}
    countries = {p.country_code for p in sure.values() if p.country_code}
    states = {p.admin1 for p in sure.values() if p.place_type in STATE_TYPES}
    resolved = {
        n: sure.get(n) or _in_context(c, countries, states, gazetteer.capitals, major_city, margin) for n, c in candidates.items()
    }
    homes = {}
    for text, label in mentions if named_places else ():
        name = mention_name(text).strip(" ,")
        if label not in PLACE_NAMED_LABELS or name in AMBIGUOUS_NAMES:
            continue
        supported = tuple(p for p in gazetteer.candidates(name) if p.country_code in countries or p.admin1 in states)
        if supported:
            homes[name] = _in_context(supported, countries, states, gazetteer.capitals, major_city, margin)
    return [
        resolved.get(n)
        if n
        else demonyms.get(mention_name(text))
        if label in DEMONYM_LABELS
        else homes.get(mention_name(text).strip(" ,"))
        for n, (text, label) in zip(names, mentions)
    ]


def with_places(gazetteer: Gazetteer, entities: Sequence[Entity], **options) -> tuple[Entity, ...]:
    """The entities with their places filled in, geocoded by canonical name (so "York" after "New York"
    is New York, and every mention of one entity has one place); ``options``: ``geocode_mentions``'s
    fitted values (the benchmark's cross-validation varies them)."""
    places = geocode_mentions(gazetteer, [(e.canonical, e.label) for e in entities], **options)
    return tuple(
        e if p is None else dataclasses.replace(e, **{name: getattr(p, name) for name in PLACE_FIELDS})
        for e, p in zip(entities, places)
    )


def _unambiguous(candidates: tuple[Place, ...]) -> Optional[Place]:
    """The one reading of a name that needs no context, if it has one."""
    if not candidates:
        return None
    top = [p for p in candidates if p.place_type != "city"]
    if len(top) == 1 and not _city_rival(top[0], candidates):
        return top[0]
    return candidates[0] if len(candidates) == 1 else None


def _in_context(
    candidates: tuple[Place, ...], countries: set, states: set, capitals: frozenset, major_city: float, margin: float
) -> Optional[Place]:
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
    return candidates[0] if candidates and not top and _dwarfs(candidates, margin) else None


def _dwarfs(candidates: Sequence[Place], margin: float) -> bool:
    """The first (most populous) candidate is at least ``margin`` times the next one."""
    return len(candidates) == 1 or candidates[0].population >= margin * max(candidates[1].population, 1)


def _city_rival(top: Place, candidates: tuple[Place, ...]) -> bool:
    """A state named like a city of its country ("Washington", "New York", "Quebec") is ambiguous without
    context."""
    return top.place_type in STATE_TYPES and any(
        p.place_type == "city" and p.country_code == top.country_code for p in candidates
    )
