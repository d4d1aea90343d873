"""Records parked on disk between stages (transforms.parcels): what goes in comes back, in order, per parcel."""

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from transforms import parcels


def parked(park: parcels.Park, records) -> list:
    park.start_bundle()
    out = [parcel for record in records for parcel in park.process(record)]
    return out + [w.value for w in park.finish_bundle()]


def test_park_cuts_parcels_by_records_and_bytes_and_summarises_each_record_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(parcels, "PARCEL_RECORDS", 3)
    empty = parcels.Park(str(tmp_path / "empty"))
    empty.setup()
    assert parked(empty, []) == [] and not (tmp_path / "empty").exists()  # nothing parked, no folder
    park = parcels.Park(str(tmp_path), summary=lambda r: r * 10)
    park.setup()
    out = parked(park, range(7))
    assert [summary for _, summary in out] == [[0, 10, 20], [30, 40, 50], [60]]
    assert [list(parcels.read_parcel(path)) for path, _ in out] == [[0, 1, 2], [3, 4, 5], [6]]
    assert len({path for path, _ in out}) == 3  # no two parcels collide
    assert parked(park, []) == []  # an empty bundle writes nothing
    monkeypatch.setattr(parcels, "PARCEL_BYTES", 2000)
    pages = ["x" * 1500, "y" * 600, "z" * 10, "w"]  # a parcel ends once it holds PARCEL_BYTES
    bytes_park = parcels.Park(str(tmp_path))
    bytes_park.setup()
    out = parked(bytes_park, pages)
    assert [list(parcels.read_parcel(path)) for path, _ in out] == [pages[:2], pages[2:]]
    assert [summary for _, summary in out] == [[], []]  # no summary asked


def test_unpark_reads_each_parcel_back_with_the_facts_routed_to_it_and_then_removes_the_folder(
    test_pipeline, tmp_path, monkeypatch
):
    monkeypatch.setattr(parcels, "PARCEL_RECORDS", 2)
    folder = str(tmp_path / "parked")
    with test_pipeline as p:
        parked = p | beam.Create(range(9)) | beam.ParDo(parcels.Park(folder, summary=str))
        facts = parked | beam.FlatMap(lambda parcel: [(parcel[0], s) for s in parcel[1] if s in ("3", "7")])
        back = {"parcels": parked, "facts": facts} | parcels.Unpark(
            folder, lambda records, fs: [(r, str(r) in fs) for r in records]
        )
        assert_that(back, equal_to([(i, i in (3, 7)) for i in range(9)]))
    assert not (tmp_path / "parked").exists()


def test_parcel_keys_names_each_key_of_a_parcel_once():
    parcel = ("p", [["a", "b"], ["b"], []])
    assert sorted(parcels.parcel_keys(parcel, lambda keys: keys)) == [("a", "p"), ("b", "p")]


def test_look_up_parked_brings_each_wanted_item_its_parked_record(test_pipeline, tmp_path, monkeypatch):
    monkeypatch.setattr(parcels, "PARCEL_RECORDS", 3)
    with test_pipeline as p:
        parked = p | beam.Create(range(10)) | beam.ParDo(parcels.Park(str(tmp_path), summary=lambda r: r))
        where = parked | beam.FlatMap(parcels.parcel_keys, lambda r: (r,))
        wanted = p | "Wanted" >> beam.Create([(3, "a"), (3, "b"), (7, "c"), (42, "not parked")])
        found = {"wanted": wanted, "where": where} | parcels.LookUpParked(lambda r: r)
        assert_that(found, equal_to([("a", 3), ("b", 3), ("c", 7)]))
