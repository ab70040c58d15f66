"""The `anju` console script: short names for what an operator runs, help in their language."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from anju.core.commandline import language_from_environment

ANJU = Path(sys.executable).with_name("anju")


def run_anju(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG", "DATABASE_URL")}
    environment.update({"ANJU_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE":
                        "anju.settings.test", **env})
    return subprocess.run([str(ANJU), *args], capture_output=True, text=True, env=environment,
                          timeout=60, check=False)


def test_help_lists_the_commands_in_english(tmp_path):
    result = run_anju("--help", tmp_path=tmp_path, LANG="en_US.UTF-8")
    assert result.returncode == 0, result.stderr
    for command in ("serve", "demo", "createsuperuser", "migrate", "worker", "backup",
                    "restore", "manage"):
        assert f"  {command} " in result.stdout
    assert "back up the database to a file" in result.stdout


def test_help_is_in_chinese_for_a_chinese_locale(tmp_path):
    result = run_anju("--help", tmp_path=tmp_path, LANG="zh_CN.UTF-8")
    assert result.returncode == 0, result.stderr
    assert "命令" in result.stdout
    assert "备份" in result.stdout  # backup
    assert "back up the database" not in result.stdout
    assert "  serve " in result.stdout  # command names stay as typed


@pytest.mark.parametrize(("environ", "language"), [
    ({"LANG": "zh_CN.UTF-8"}, "zh-hans"),
    ({"LANG": "zh_TW.UTF-8"}, "zh-hans"),
    ({"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh-hans"),
    ({"LC_MESSAGES": "zh_CN.UTF-8"}, "zh-hans"),
    ({"LANGUAGE": "en_GB:zh_CN", "LANG": "zh_CN.UTF-8"}, "en"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({}, "en"),
])
def test_language_follows_the_locale_variables(environ, language):
    assert language_from_environment(environ) == language


def test_unknown_command_shows_the_usage(tmp_path):
    result = run_anju("frobnicate", tmp_path=tmp_path, LANG="en_US.UTF-8")
    assert result.returncode == 2
    assert "Unknown command: frobnicate" in result.stderr
    assert "Usage: anju" in result.stderr


def test_manage_passes_any_management_command_through(tmp_path):
    result = run_anju("manage", "check", tmp_path=tmp_path, LANG="en_US.UTF-8")
    assert result.returncode == 0, result.stderr
    assert "System check identified" in result.stdout


def test_a_wrapped_command_gets_its_own_options(tmp_path):
    result = run_anju("serve", "--help", tmp_path=tmp_path, LANG="en_US.UTF-8")
    assert result.returncode == 0, result.stderr
    assert "--port" in result.stdout and "--no-worker" in result.stdout


def test_migrate_demo_and_backup_through_the_cli(tmp_path):
    """What ./start does on a fresh machine, on a fresh SQLite file."""
    assert run_anju("migrate", "--no-input", tmp_path=tmp_path).returncode == 0
    demo = run_anju("demo", "--if-empty", tmp_path=tmp_path, LANG="en_US.UTF-8")
    assert demo.returncode == 0, demo.stderr
    backup = run_anju("backup", str(tmp_path / "b.sqlite3"), tmp_path=tmp_path,
                      LANG="en_US.UTF-8")
    assert backup.returncode == 0, backup.stderr
    assert (tmp_path / "b.sqlite3").read_bytes().startswith(b"SQLite format 3")
