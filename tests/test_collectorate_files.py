"""Files (नस्ती) of a collectorate move from desk to desk under the chain of custody the
collectorate plugin declares (``qms file move|where``, the custody API), on SQLite and
PostgreSQL, and the office's chain verifies."""

from __future__ import annotations

import json
from pathlib import Path

from qms_engine.audit.verify import verify_office
from tests.collectorate_fixtures import Collectorate, cli, collectorate, refused

__all__ = ["collectorate"]  # the fixture, imported for pytest


def test_a_file_moves_between_desks_and_says_where_it_is(
    collectorate: Collectorate, tmp_path: Path
) -> None:
    """A file opened at the dak desk is handed to the revenue desk, then to the record room;
    `qms file where` says where it is; a desk the collectorate does not have is refused."""
    number = collectorate.file(tmp_path, "भूमि विवाद नस्ती")
    for to, who in (("revenue", "पटल सहायक सुनीता"), ("record_room", "Record keeper Harish")):
        moved = cli(
            collectorate, "file", "move", number, "--to", to, "--received-by", who,
            "--seal", "intact", "--as", "sunita",
        )  # fmt: skip
        assert moved.exit_code == 0, moved.output
    where = json.loads(cli(collectorate, "file", "where", number, "--json").output)
    assert where["place"] == "record_room", where
    code, said = refused(
        collectorate, "file", "move", number, "--to", "malkhana", "--received-by", "x",
        "--seal", "intact", "--as", "sunita",
    )  # fmt: skip
    assert code == 5 and "revenue" in said, said
    assert verify_office(collectorate.runtime, collectorate.office).problems == []
