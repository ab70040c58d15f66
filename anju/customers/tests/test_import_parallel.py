"""Large imports read and validate in a second process while this one writes: same results
as in one process, its failures reach the job, and a resumed job carries on."""

import pytest

from anju.customers.importing import pipeline
from anju.customers.models import Customer, CustomerPhone, ImportJob, ImportRejectedRow
from anju.customers.tests import test_import as base
from anju.customers.tests.test_import import GOOD_ID, csv_bytes, row, xlsx_bytes

run_import = base.run_import  # the fixture, shared with test_import


@pytest.fixture
def importer(run_import):
    return run_import


@pytest.fixture
def parallel(monkeypatch):
    monkeypatch.setattr(pipeline, "PARALLEL", True)
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_ROWS", 0)
    started = []
    real_enter = pipeline.ReadingProcess.__enter__

    def enter(self):
        started.append(self)
        return real_enter(self)

    monkeypatch.setattr(pipeline.ReadingProcess, "__enter__", enter)
    return started


def people_rows():
    rows = [row(f"客户{i}", f"1390000{i:04d}") for i in range(9)]
    rows.insert(2, row("短号", "13800"))
    rows.insert(5, row("", "13900001234"))
    rows.append(row("客户0又一次", "139-0000-0000"))  # the first person written another way
    rows.append(row("身份证", "", GOOD_ID))
    return rows


@pytest.mark.parametrize("name, make", [("客户.csv", csv_bytes), ("客户.xlsx", xlsx_bytes)])
def test_reading_in_a_second_process_gives_the_same_result(importer, parallel, monkeypatch,
                                                           name, make):
    monkeypatch.setattr(pipeline.import_job_process, "__kwdefaults__", {"chunk_size": 3})
    job = importer(make(people_rows()), name)
    assert parallel, "the reading process was not used"
    assert job.state == ImportJob.State.DONE
    assert (job.processed_rows, job.created_count, job.duplicate_count,
            job.rejected_count) == (13, 10, 1, 2)
    assert Customer.objects.count() == 10 and CustomerPhone.objects.count() == 9
    rejected = dict(ImportRejectedRow.objects.values_list("row_number", "reasons"))
    assert sorted(rejected) == [4, 7]
    assert "too short" in rejected[4][0] and "name" in rejected[7][0].lower()
    assert Customer.objects.get(name="身份证").id_number == GOOD_ID


def test_a_failure_in_the_reading_process_fails_the_job(importer, parallel, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("unreadable sheet")

    monkeypatch.setattr(pipeline, "prepare_chunk", broken)
    job = importer(csv_bytes(people_rows()))
    assert job.state == ImportJob.State.FAILED and "unreadable sheet" in job.error
    assert Customer.objects.count() == 0


def test_a_crash_then_a_resume_with_a_reading_process(importer, parallel, monkeypatch):
    real_write = pipeline.ChunkWriter.write
    calls = {"n": 0}

    def crashing_write(self, chunk, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed")
        return real_write(self, chunk, **kwargs)

    monkeypatch.setattr(pipeline.ChunkWriter, "write", crashing_write)
    monkeypatch.setattr(pipeline.import_job_process, "__kwdefaults__", {"chunk_size": 3})
    job = importer(csv_bytes(people_rows()))
    assert job.state == ImportJob.State.FAILED and job.processed_rows == 6

    monkeypatch.setattr(pipeline.ChunkWriter, "write", real_write)
    job = pipeline.import_job_process(job_id=job.pk, chunk_size=3)
    assert (job.state, job.processed_rows, job.created_count, job.duplicate_count,
            job.rejected_count) == (ImportJob.State.DONE, 13, 10, 1, 2)
    assert Customer.objects.count() == 10


def test_a_spawned_reading_process_when_this_one_has_threads(importer, parallel, monkeypatch,
                                                             settings, tmp_path):
    # A process with other threads must not fork: the child starts afresh (sets Django up)
    # and opens the file by its path.
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path)}}}
    monkeypatch.setattr(pipeline.threading, "active_count", lambda: 2)
    job = importer(csv_bytes(people_rows()))
    assert parallel[0].context.get_start_method() == "spawn"
    assert (job.state, job.created_count, job.duplicate_count, job.rejected_count) == (
        ImportJob.State.DONE, 10, 1, 2)


def test_an_in_memory_file_is_read_here_when_a_fork_is_unsafe(importer, parallel, monkeypatch):
    monkeypatch.setattr(pipeline.threading, "active_count", lambda: 2)
    job = importer(csv_bytes(people_rows()))
    assert not parallel  # the test storage keeps files in this process's memory
    assert (job.state, job.created_count, job.duplicate_count, job.rejected_count) == (
        ImportJob.State.DONE, 10, 1, 2)
