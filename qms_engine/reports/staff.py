"""Who may run the command a finding suggests, so that it runs as printed: ``--as`` a person of
the office holding a role that may (the first by user name), else the role as a placeholder, as
the engine's own hints write it (``--as ADMIN``)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.people.users import UserView, list_users
from qms_engine.runtime import Runtime


@dataclass(frozen=True)
class Staff:
    """The office's active people and their roles there, read once for a report."""

    people: tuple[UserView, ...]

    @classmethod
    def of(cls, runtime: Runtime, office: OfficeRef) -> Staff:
        users = list_users(runtime, office)
        return cls(tuple(u for u in users if u.active and u.kind == "person" and u.roles))

    def who(
        self, roles: Collection[str], may: Callable[[UserView], bool] = lambda person: True
    ) -> str:
        """The first person (by user name) holding one of ``roles`` for whom ``may`` holds
        (segregation of duties), else the first role, upper-cased, to be replaced."""
        for person in self.people:
            if set(person.roles) & set(roles) and may(person):
                return person.username
        return sorted(roles)[0].upper() if roles else "USER"
