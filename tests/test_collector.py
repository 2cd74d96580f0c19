"""The cycle collector is held off only inside the blocks that build many objects."""

import gc

import pytest

from fairaudit import collector, engine
from fairaudit.report import json as report_json


@pytest.fixture
def collecting():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_held_off_inside_the_block_and_on_again_after(collecting):
    with collector.held_off():
        assert not gc.isenabled()
        with collector.held_off():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still holds it off
    assert gc.isenabled()


def test_left_off_when_it_was_off_before(collecting):
    gc.disable()
    with collector.held_off():
        pass
    assert not gc.isenabled()


def test_on_again_after_an_error(collecting):
    with pytest.raises(ValueError), collector.held_off():
        raise ValueError("boom")
    assert gc.isenabled()


def test_an_audit_and_its_reports_leave_collection_on(collecting, compas_parquet):
    result = engine.audit(str(compas_parquet), label="two_year_recid", prediction="prediction",
                          groups=["race", "sex"])
    assert gc.isenabled()
    assert result.groupings[0].groups  # built on first use
    report_json.encode(result)
    assert gc.isenabled()
