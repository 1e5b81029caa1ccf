"""The sizes a benchmark database comes in (no Django import: the CLI reads
them before Django is set up)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    """How big a benchmark database is."""

    name: str
    organizations: int
    contacts: int
    subtree_orgs: int
    max_depth: int = 10
    second_org_share: float = 0.1  # contacts that belong to a second organization
    seed: int = 20261125

    def describe(self) -> str:
        return (f"{self.organizations:,} organizations (≤ {self.max_depth} deep), "
                f"{self.contacts:,} contacts, granted subtree {self.subtree_orgs:,} organizations")


SCALES: dict[str, Scale] = {
    "tiny": Scale("tiny", organizations=50, contacts=300, subtree_orgs=10, max_depth=5),
    "small": Scale("small", organizations=1_000, contacts=10_000, subtree_orgs=100),
    "medium": Scale("medium", organizations=20_000, contacts=200_000, subtree_orgs=2_000),
    "large": Scale("large", organizations=100_000, contacts=1_000_000, subtree_orgs=10_000),
}
