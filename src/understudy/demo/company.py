"""The fictional company: its people, groups, projects and outside contacts.

The roster is fixed so that the storylines (the slipping launch, the board's
request, the vendor decision) always involve the same roles; the seed decides
everything about how these people behave, which lives in ``habits``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

__all__ = [
    "COMPANY_NAME",
    "DOMAIN",
    "TIMEZONE",
    "Company",
    "Employee",
    "Outsider",
    "Team",
    "Venture",
    "build_company",
]

COMPANY_NAME = "Halcyon Labs"
DOMAIN = "halcyon.example"
TIMEZONE = "America/New_York"


@dataclass(frozen=True, slots=True)
class Employee:
    """Someone who works at the company and has a mailbox, a calendar and a chat handle."""

    id: str
    name: str
    title: str
    manager: str | None
    groups: tuple[str, ...]
    level: int

    @property
    def first(self) -> str:
        """Return the first name."""
        return self.name.split()[0]

    @property
    def handle(self) -> str:
        """Return the chat handle (the ASCII first name, lower case)."""
        return _ascii(self.first).lower()

    @property
    def email(self) -> str:
        """Return the work address."""
        return f"{self.handle}@{DOMAIN}"


@dataclass(frozen=True, slots=True)
class Outsider:
    """Someone outside the company: board, customer, vendor or an automated sender."""

    id: str
    name: str
    email: str
    organization: str
    role: str
    title: str = ""

    @property
    def first(self) -> str:
        """Return the first name (or the whole name for automated senders)."""
        return self.name.split()[0] if self.role in _HUMAN_ROLES else self.name


@dataclass(frozen=True, slots=True)
class Team:
    """A group of people, as the org file declares it."""

    id: str
    name: str
    parents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Venture:
    """A project: who works on it, which groups may read it, and its mail folder."""

    id: str
    name: str
    title: str
    members: tuple[str, ...]
    groups: tuple[str, ...]
    description: str
    key: str

    @property
    def folder(self) -> str:
        """Return the Maildir++ folder its mail is filed into."""
        return f"Projects.{self.name}"


@dataclass(frozen=True, slots=True)
class Company:
    """Everyone and everything the story is about."""

    name: str
    domain: str
    timezone: str
    people: tuple[Employee, ...]
    outsiders: tuple[Outsider, ...]
    teams: tuple[Team, ...]
    projects: tuple[Venture, ...]
    _index: dict[str, Employee] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {p.id: p for p in self.people})

    @property
    def ceo(self) -> Employee:
        """Return the chief executive (the one person without a manager)."""
        return next(p for p in self.people if p.manager is None)

    def employee(self, person_id: str) -> Employee:
        """Return the employee with this id."""
        return self._index[person_id]

    def is_internal(self, party: str) -> bool:
        """Return whether ``party`` is an employee id."""
        return party in self._index

    def outsider(self, party: str) -> Outsider:
        """Return the outside contact with this id."""
        return next(o for o in self.outsiders if o.id == party)

    def address(self, party: str) -> tuple[str, str]:
        """Return the display name and email address of an employee or outsider."""
        if self.is_internal(party):
            person = self.employee(party)
            return person.name, person.email
        other = self.outsider(party)
        return other.name, other.email

    def first_name(self, party: str) -> str:
        """Return how a colleague would address ``party``."""
        if self.is_internal(party):
            return self.employee(party).first
        return self.outsider(party).first

    def reports(self, person_id: str) -> tuple[str, ...]:
        """Return the ids of the people who report to ``person_id``."""
        return tuple(p.id for p in self.people if p.manager == person_id)

    def in_group(self, group: str) -> tuple[str, ...]:
        """Return the ids of the employees in ``group``."""
        return tuple(p.id for p in self.people if group in p.groups)

    def project(self, project_id: str) -> Venture:
        """Return the project with this id."""
        return next(v for v in self.projects if v.id == project_id)

    def projects_of(self, person_id: str) -> tuple[Venture, ...]:
        """Return the projects ``person_id`` works on."""
        return tuple(v for v in self.projects if person_id in v.members)


_HUMAN_ROLES = ("board", "customer", "vendor", "recruiter", "counsel")

_PEOPLE: tuple[tuple[str, str, str | None, tuple[str, ...]], ...] = (
    ("Maya Okafor", "Chief Executive Officer", None, ("exec",)),
    ("Daniel Reyes", "Chief Technology Officer", "maya-okafor", ("exec", "engineering")),
    ("Priya Raman", "Chief Financial Officer", "maya-okafor", ("exec", "finance")),
    ("Tom Becker", "VP Sales", "maya-okafor", ("exec", "sales")),
    ("Grace Liu", "VP People", "maya-okafor", ("exec", "hr")),
    ("Samuel Adeyemi", "Chief Operating Officer", "maya-okafor", ("exec", "ops")),
    ("Jonas Weber", "Engineering Lead", "daniel-reyes", ("engineering",)),
    ("Aisha Khan", "Senior Software Engineer", "daniel-reyes", ("engineering",)),
    ("Mateo Álvarez", "Software Engineer", "daniel-reyes", ("engineering",)),
    ("Ben Friedman", "Software Engineer", "daniel-reyes", ("engineering",)),
    ("Lena Park", "Site Reliability Engineer", "daniel-reyes", ("engineering",)),
    ("Chloé Dubois", "Product Manager", "daniel-reyes", ("product",)),
    ("Ryan O'Neill", "Account Executive", "tom-becker", ("sales",)),
    ("Sofia Rossi", "Account Executive", "tom-becker", ("sales",)),
    ("Kenji Tanaka", "Sales Engineer", "tom-becker", ("sales",)),
    ("Nadia Haddad", "Finance Analyst", "priya-raman", ("finance",)),
    ("Emily Carter", "HR Specialist", "grace-liu", ("hr",)),
    ("Marcus Johnson", "Operations Manager", "samuel-adeyemi", ("ops",)),
    ("Zoë Lindqvist", "IT & Facilities Coordinator", "samuel-adeyemi", ("ops",)),
    ("Hannah Schmidt", "Product Designer", "samuel-adeyemi", ("product",)),
)

_TEAMS = (
    Team("leadership", "Leadership"),
    Team("exec", "Executive team", ("leadership",)),
    Team("engineering", "Engineering"),
    Team("sales", "Sales"),
    Team("finance", "Finance"),
    Team("hr", "People & HR"),
    Team("ops", "Operations"),
    Team("product", "Product"),
)

_PROJECTS: tuple[tuple[str, str, str, str, tuple[str, ...], tuple[str, ...], str], ...] = (
    (
        "atlas",
        "Atlas",
        "Atlas platform launch",
        "ATL",
        (
            "daniel-reyes",
            "jonas-weber",
            "aisha-khan",
            "mateo-alvarez",
            "ben-friedman",
            "lena-park",
            "chloe-dubois",
            "maya-okafor",
        ),
        ("engineering", "exec"),
        "Launch the Atlas data platform (v2 ingestion, multi-region, new billing hooks) "
        "to general availability.",
    ),
    (
        "beacon",
        "Beacon",
        "Beacon sales expansion",
        "BEA",
        ("tom-becker", "ryan-oneill", "sofia-rossi", "kenji-tanaka", "priya-raman"),
        ("sales", "exec"),
        "Open the mid-market segment in the Midwest and EMEA with a new pricing tier.",
    ),
    (
        "cobalt",
        "Cobalt",
        "Cobalt cost reduction",
        "COB",
        ("priya-raman", "nadia-haddad", "samuel-adeyemi", "marcus-johnson", "lena-park"),
        ("finance", "exec"),
        "Cut cloud and vendor spend by 15% this fiscal year without slowing delivery.",
    ),
    (
        "delta",
        "Delta",
        "Delta customer portal",
        "DEL",
        ("chloe-dubois", "hannah-schmidt", "aisha-khan", "kenji-tanaka", "sofia-rossi"),
        ("product", "engineering"),
        "Give customers a self-service portal for usage, invoices and support tickets.",
    ),
    (
        "ember",
        "Ember",
        "Ember hiring drive",
        "EMB",
        ("grace-liu", "emily-carter", "daniel-reyes", "jonas-weber", "tom-becker"),
        ("hr", "exec"),
        "Hire eight engineers and three account executives before the end of the quarter.",
    ),
)

_OUTSIDERS: tuple[tuple[str, ...], ...] = (
    (
        "eleanor-vance",
        "Eleanor Vance",
        "eleanor@vancecapital.example",
        "Vance Capital",
        "board",
        "Chair of the Board",
    ),
    (
        "robert-chen",
        "Robert Chen",
        "rchen@northwind-ventures.example",
        "Northwind Ventures",
        "board",
        "Board Member",
    ),
    (
        "amara-osei",
        "Amara Osei",
        "amara@oseiadvisory.example",
        "Osei Advisory",
        "board",
        "Independent Director",
    ),
    (
        "kate-morrison",
        "Kate Morrison",
        "kate.morrison@brightline.example",
        "Brightline Logistics",
        "customer",
        "Director of Operations",
    ),
    (
        "luis-fernandez",
        "Luis Fernández",
        "l.fernandez@meridianhealth.example",
        "Meridian Health",
        "customer",
        "IT Manager",
    ),
    (
        "hiroshi-sato",
        "Hiroshi Sato",
        "hsato@polarisretail.example",
        "Polaris Retail",
        "customer",
        "Head of Data",
    ),
    (
        "anna-kowalski",
        "Anna Kowalski",
        "anna.k@greenfieldfoods.example",
        "Greenfield Foods",
        "customer",
        "VP Finance",
    ),
    (
        "derek-lowe",
        "Derek Lowe",
        "derek.lowe@nimbuscloud.example",
        "Nimbus Cloud",
        "vendor",
        "Account Manager",
    ),
    (
        "rachel-stein",
        "Rachel Stein",
        "rstein@quilllegal.example",
        "Quill Legal",
        "counsel",
        "Partner",
    ),
    (
        "tessa-moran",
        "Tessa Moran",
        "tessa@datapeak.example",
        "DataPeak Analytics",
        "vendor",
        "Business Development",
    ),
    (
        "victor-hale",
        "Victor Hale",
        "victor@stratusrecruiting.example",
        "Stratus Recruiting",
        "recruiter",
        "Senior Recruiter",
    ),
    (
        "morning-ledger",
        "The Morning Ledger",
        "news@morningledger.example",
        "The Morning Ledger",
        "newsletter",
    ),
    ("saas-weekly", "SaaS Weekly", "digest@saasweekly.example", "SaaS Weekly", "newsletter"),
    (
        "eng-digest",
        "Engineering Digest",
        "hello@engdigest.example",
        "Engineering Digest",
        "newsletter",
    ),
    (
        "people-ops-weekly",
        "People Ops Weekly",
        "letters@peopleops.example",
        "People Ops Weekly",
        "newsletter",
    ),
    (
        "tracker",
        "Halcyon Tracker",
        "noreply@tracker.halcyon.example",
        "Halcyon Tracker",
        "notification",
    ),
    ("pagerline", "Pagerline Alerts", "alerts@pagerline.example", "Pagerline", "notification"),
    ("expenseflow", "ExpenseFlow", "receipts@expenseflow.example", "ExpenseFlow", "receipt"),
    ("skyways", "Skyways Airlines", "noreply@skyways.example", "Skyways Airlines", "receipt"),
)


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("ø", "o"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("'", "")


def person_id(name: str) -> str:
    """Return the id of a person from their full name."""
    return _ascii(name).lower().replace(" ", "-")


def build_company() -> Company:
    """Return the company with its people, groups, projects and outside contacts."""
    people = tuple(
        Employee(
            id=person_id(name),
            name=name,
            title=title,
            manager=manager,
            groups=groups,
            level=0 if manager is None else (1 if manager == "maya-okafor" else 2),
        )
        for name, title, manager, groups in _PEOPLE
    )
    projects = tuple(
        Venture(pid, name, title, members, groups, description, key)
        for pid, name, title, key, members, groups, description in _PROJECTS
    )
    outsiders = tuple(Outsider(*row) for row in _OUTSIDERS)
    return Company(COMPANY_NAME, DOMAIN, TIMEZONE, people, outsiders, _TEAMS, projects)
