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
from transforms.entities.tables import MAJOR_CITY, PLACE_LABELS, PLACE_TYPE_RANK, POPULATION_MARGIN
from transforms.schema import PLACE_FIELDS, Entity


def geocode_mentions(gazetteer: Gazetteer, mentions: Sequence[tuple[str, str]]) -> list[Optional[Place]]:
    """(name, label) pairs of one article -> a Place or None each; labels that are not places give None."""
    names = [mention_name(text).strip(" ,") if label in PLACE_LABELS else None for text, label in mentions]
    candidates = {n: gazetteer.candidates(n) for n in names if n}
    sure = {n: p for n, c in candidates.items() if (p := _unambiguous(c))}
    countries = {p.country_code for p in sure.values() if p.country_code}
    states = {p.admin1 for p in sure.values() if p.place_type == "us_state"}
    resolved = {n: sure.get(n) or _in_context(c, countries, states, gazetteer.capitals) for n, c in candidates.items()}
    return [resolved.get(n) if n else None for n in names]


def with_places(gazetteer: Gazetteer, entities: Sequence[Entity]) -> tuple[Entity, ...]:
    """The entities with their places filled in, geocoded by canonical name (so "York" after "New York"
    is New York, and every mention of one entity has one place)."""
    places = geocode_mentions(gazetteer, [(e.canonical, e.label) for e in entities])
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


def _in_context(candidates: tuple[Place, ...], countries: set, states: set, capitals: frozenset) -> Optional[Place]:
    in_state = [p for p in candidates if p.admin1 and p.admin1 in states]
    if len(in_state) == 1:
        return in_state[0]
    first = candidates[0] if candidates else None
    if first and first.place_type == "city" and first.population >= MAJOR_CITY and _dwarfs(candidates):
        return first  # Berlin in a US sports page
    supported = in_state or [p for p in candidates if p.country_code in countries]
    capital = [p for p in supported if p.geonames_id in capitals]
    if capital:  # a national capital beats a state of its name ("Washington" in a story about the US)
        return capital[0]
    if len(supported) == 1 or (supported and _dwarfs(supported)):
        return supported[0]
    if len(supported) > 1:  # a state beats a city of its name
        return min(supported, key=lambda p: (PLACE_TYPE_RANK[p.place_type], -p.population))
    top = [p for p in candidates if p.place_type != "city"]
    if len(top) == 1:
        return top[0]
    return candidates[0] if candidates and not top and _dwarfs(candidates) else None


def _dwarfs(candidates: Sequence[Place]) -> bool:
    """The first (most populous) candidate is at least POPULATION_MARGIN times the next one."""
    return len(candidates) == 1 or candidates[0].population >= POPULATION_MARGIN * max(candidates[1].population, 1)


def _city_rival(top: Place, candidates: tuple[Place, ...]) -> bool:
    """A US state named like a US city ("Washington", "New York") is ambiguous without context."""
    return top.place_type == "us_state" and any(p.place_type == "city" and p.country_code == "US" for p in candidates)
