"""The gazetteer's compact name index (transforms/entities/gazetteer.py ``PlaceIndex``) answers as the dict of
tuples it replaced: same candidates in the same order, misses, membership, iteration; and the gazetteer a
child process builds is the one built here, once per machine."""

import pickle

from transforms.cache import CACHE_ENV
from transforms.entities import gazetteer
from transforms.entities.gazetteer import Place, PlaceIndex, build_gazetteer, load_gazetteer


def place(name: str, population: int) -> Place:
    return Place(name, "city", "FR", 1.0, 2.0, population, population)


def test_the_index_answers_as_a_dict_of_tuples():
    paris, texas, lodz, zurich = place("Paris", 9), place("Paris", 2), place("Łódź", 7), place("Zürich", 4)
    names = {"paris": [paris, texas], "łódź": [lodz], "lodz": [lodz], "zürich": [zurich], "a": [texas], "zz": [paris]}
    index = PlaceIndex(names)
    assert dict(index) == {name: tuple(places) for name, places in names.items()}
    assert index["paris"] == (paris, texas) and index.get("łódź") == (lodz,)
    assert index.get("pari") is None and index.get("parisx") is None and index.get("") is None and index.get("zzz") is None
    assert "zürich" in index and "Zürich" not in index and 3 not in index
    assert len(index) == 6 and sorted(index) == sorted(names)
    assert len(index.places) == 4 and set(index.places) == {paris, texas, lodz, zurich}  # each place once
    copy = pickle.loads(pickle.dumps(index))  # as a child process hands it over
    assert dict(copy) == dict(index) and copy.get("paris") == (paris, texas) and copy.get("pari") is None


def test_the_loaded_gazetteer_finds_towns_by_latin_alternate_names():
    gazetteer = load_gazetteer()
    assert gazetteer.candidates("Köln")[0].name == gazetteer.candidates("cologne")[0].name
    assert gazetteer.candidates("Kyiv")[0].country_code == "UA"
    assert not gazetteer.candidates("Киев")  # alternate names in other scripts are not indexed


def test_the_gazetteer_built_in_a_child_process_is_the_one_built_in_this_one():
    here, there = build_gazetteer(), load_gazetteer()
    assert there is load_gazetteer()  # once per process
    assert here.capitals == there.capitals and here.demonyms == there.demonyms
    assert here.by_name.places == there.by_name.places and list(here.by_name) == list(there.by_name)
    assert all(here.by_name[name] == there.by_name[name] for name in ("paris", "georgia", "washington", "köln"))


def test_the_gazetteer_is_built_once_per_machine_and_built_again_when_its_file_is_damaged(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    builds, run = [], gazetteer.subprocess.run
    monkeypatch.setattr(gazetteer.subprocess, "run", lambda *a, **k: builds.append(1) or run(*a, **k))
    load = load_gazetteer.__wrapped__  # past the per-process cache
    first = load()
    (built,) = tmp_path.iterdir()  # one file, no partial one beside it
    again = load()
    assert len(builds) == 1 and again.capitals == first.capitals and list(again.by_name) == list(first.by_name)
    built.write_bytes(built.read_bytes()[:1000])  # cut short on disk
    assert list(load().by_name) == list(first.by_name)
    assert len(builds) == 2 and [p.name for p in tmp_path.iterdir()] == [built.name]


def test_the_gazetteer_is_named_by_what_it_is_built_from_and_built_where_the_cache_cannot_be_written(tmp_path, monkeypatch):
    assert gazetteer._build_digest((15_000, "midpoint")) != gazetteer._build_digest((5_000, "midpoint"))
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv(CACHE_ENV, str(blocked / "cache"))
    assert load_gazetteer.__wrapped__().candidates("Kyiv")[0].country_code == "UA"
    assert blocked.read_text() == "not a folder"
