"""The words that come from outside: customers, the board, vendors and machines.

Conversation topics with outside people use the same ``Topic`` shape as
internal ones. Newsletters, notifications and receipts are built from small
banks of headlines and fields.
"""

from __future__ import annotations

import random

from understudy.demo.texts import Topic

__all__ = ["EXTERNAL_TOPICS", "HEADLINES", "external_topics", "newsletter_text", "receipt_text"]


def external_topics(audience: str) -> tuple[Topic, ...]:
    """Return the outside topics for this audience."""
    return tuple(t for t in EXTERNAL_TOPICS if t.audience == audience)


EXTERNAL_TOPICS: tuple[Topic, ...] = (
    Topic(
        "customer-question",
        "customer-in",
        "customer",
        "Question about our {product} invoice",
        "Our finance team noticed the {month} invoice is {amount}, which is higher than "
        "the last three months. Could you explain what changed? We may have more users on "
        "the platform but want to be sure before we approve it.",
        (
            "Thanks for asking. The increase comes from {count} additional seats added on "
            "the 12th and the higher data tier. I have attached the usage breakdown to the "
            "account page. Happy to walk through it on a call.",
            "Good question — let me check with our billing team and come back to you by {weekday}.",
        ),
        ("That explains it, thank you.", "Thanks, a call on {weekday} would be great."),
    ),
    Topic(
        "customer-feature",
        "customer-in",
        "customer",
        "SSO for the {product} workspace",
        "We are rolling out Okta across the company. Does {product} support SAML SSO, and "
        "is it included in our plan? Our security review closes on {date}.",
        (
            "Yes — SAML SSO is supported and included in your plan. I will send the setup "
            "guide and put you in touch with our solutions engineer.",
            "It is supported; I am confirming whether your plan includes it and will reply today.",
        ),
        ("Perfect, thanks.", "Thank you — waiting for the guide."),
    ),
    Topic(
        "complaint",
        "complaint",
        "complaint",
        "Unacceptable downtime last {weekday}",
        "I want to raise a serious concern. Last {weekday} our team could not reach "
        "{product} for almost {count} hours during our busiest window. Nobody from your "
        "side contacted us proactively, and the status page said everything was fine. "
        "We pay {amount} a year and expect better. I would like a call this week and a "
        "written incident report.",
        (
            "I am sorry — that is not the experience we want you to have. I have asked our "
            "team to prepare the incident report and will set up a call with you this week.",
        ),
        ("Thank you for taking this seriously.",),
    ),
    Topic(
        "bug",
        "bug",
        "bug",
        "Export job fails for large accounts",
        "The nightly export has failed for {customer} three nights in a row. The error "
        "is a timeout after 30 minutes on the {product} side; smaller accounts are fine. "
        "Logs are in {ticket}. Can someone look at it today?",
        (
            "Looking at it now. Looks like the export query lost its index after the last "
            "migration. I will post an update in {ticket} within the hour.",
            "Reproduced it on staging. Working on a fix; should be deployed tonight.",
        ),
        ("Thanks!", "Great, thank you."),
    ),
    Topic(
        "board-question",
        "board",
        "board",
        "Question on the {quarter} numbers",
        "I went through the {quarter} pack this weekend. Two questions: why is gross "
        "margin down {pct} quarter on quarter, and how confident are you in the {project} "
        "timeline? Happy to discuss by phone.",
        (
            "Margin: mostly the one-off migration cost on our cloud bill; it normalizes "
            "next quarter. {project}: I will give you a straight update on our next call — "
            "short version is we are watching it closely.",
            "Good questions. Priya will send a margin bridge by {weekday}; I will call you "
            "about {project}.",
        ),
        ("Thank you, that helps.", "Talk soon."),
    ),
    Topic(
        "board-intro",
        "board",
        "board",
        "Intro: {customer} CTO",
        "I met the CTO of {customer} at a dinner last week. They are rethinking their data "
        "stack and I think {product} could fit. Would you like an intro?",
        ("Yes please — that would be very helpful. Tom will follow up within a day of the intro.",),
        ("Done, intro sent.",),
    ),
    Topic(
        "invoice",
        "invoice",
        "invoice",
        "Invoice {invoice} from {vendor}",
        "Please find attached invoice {invoice} for {amount}, due on {date}. Let me know if "
        "anything needs correcting.",
        ("Thanks — received. We will process it in the next payment run.",),
        (),
    ),
    Topic(
        "candidate",
        "candidate",
        "candidate",
        "Candidate for {role}",
        "I have a strong candidate for your {role} opening: eight years of experience, "
        "currently at a payments company, available in four weeks. Resume attached in our "
        "portal. Would you like to set up a first call?",
        (
            "Thanks, Victor. Please send the profile through the usual process and we will "
            "schedule a screening call.",
        ),
        ("Will do.",),
    ),
    Topic(
        "pitch",
        "pitch",
        "pitch",
        "{vendor_org} + Halcyon: 15 minutes?",
        "I noticed Halcyon is growing fast — congratulations. Teams like yours use "
        "{vendor_org} to cut reporting time in half. Do you have 15 minutes on {weekday} "
        "for a quick demo?",
        ("Thanks for reaching out — not a priority for us right now.",),
        (),
    ),
    Topic(
        "sales-followup",
        "customer-out",
        "conversation",
        "Following up: {product} proposal",
        "Thanks again for your time on {weekday}. As promised, here is a summary: "
        "{count} seats on the Growth tier at {amount} per year, with onboarding included. "
        "Could we schedule 30 minutes with your procurement team next week?",
        (
            "Thanks for the summary. Procurement can do Tuesday or Wednesday afternoon — "
            "send a few slots.",
            "We are still comparing options. I will get back to you after our internal "
            "review on {date}.",
        ),
        ("Great, sending slots now.", "Understood — talk after the {date} review."),
    ),
    Topic(
        "counsel-contract",
        "counsel",
        "conversation",
        "{vendor} MSA: redlines",
        "Attached are our redlines on the {vendor} master services agreement. The main "
        "open points are the liability cap (they propose 6 months of fees, we propose 12) "
        "and data residency. Can we walk through them on {weekday}?",
        (
            "Thanks, Rachel. {weekday} works — 30 minutes should be enough.",
            "Thanks. Hold firm on the liability cap; data residency we can be flexible on.",
        ),
        ("Confirmed.", "Understood, will proceed."),
    ),
)

HEADLINES: dict[str, tuple[str, ...]] = {
    "morning-ledger": (
        "Rates hold steady as markets wait for jobs data",
        "Mid-market software deals rebound in the third quarter",
        "Why CFOs are rethinking cloud commitments",
        "The quiet return of the annual budget review",
        "Private credit funds look to growth-stage tech",
        "What the latest layoffs say about SaaS margins",
    ),
    "saas-weekly": (
        "Usage-based pricing: three lessons from this quarter",
        "Net revenue retention benchmarks for 2026",
        "How mid-market buyers evaluate data platforms",
        "The case for annual contracts is back",
        "Self-serve portals cut support tickets by a third",
    ),
    "eng-digest": (
        "Postgres 17 in production: what changed for us",
        "Designing idempotent data pipelines",
        "Feature flags without the mess",
        "A practical guide to multi-region failover",
        "Reading flame graphs in ten minutes",
    ),
    "people-ops-weekly": (
        "Running calibration without the drama",
        "Pay transparency laws: what changes in January",
        "Structured interviews reduce time-to-hire",
        "The manager's guide to performance conversations",
    ),
}


def newsletter_text(rng: random.Random, letter: str, issue: int) -> tuple[str, str, str]:
    """Return the subject, plain text and HTML of one newsletter issue."""
    picks = rng.sample(HEADLINES[letter], 3)
    subject = f"{picks[0]} | Issue #{issue}"
    lines = [
        f"{n}. {title}\n   Read more: https://{letter}.example/{issue}/{n}"
        for n, title in enumerate(picks, 1)
    ]
    plain = (
        f"This week's top stories (issue #{issue}):\n\n"
        + "\n\n".join(lines)
        + "\n\nYou are receiving this because you subscribed. Unsubscribe: "
        f"https://{letter}.example/unsubscribe"
    )
    items = "".join(
        f'<li><a href="https://{letter}.example/{issue}/{n}">{t}</a></li>'
        for n, t in enumerate(picks, 1)
    )
    html = (
        f"<html><body><h1>Issue #{issue}</h1><ol>{items}</ol>"
        f'<p><small><a href="https://{letter}.example/unsubscribe">Unsubscribe</a></small></p>'
        "</body></html>"
    )
    return subject, plain, html


def receipt_text(rng: random.Random, sender: str, name: str) -> tuple[str, str]:
    """Return the subject and text of an expense or travel receipt."""
    if sender == "skyways":
        code = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))
        city = rng.choice(("Chicago (ORD)", "Boston (BOS)", "Austin (AUS)", "Toronto (YYZ)"))
        fare = rng.randrange(180, 720)
        return (
            f"Your Skyways booking confirmation {code}",
            f"Hello {name},\n\nThank you for flying with Skyways. Booking {code}: "
            f"New York (LGA) to {city}, round trip.\nTotal charged: ${fare}.00\n\n"
            "Manage your trip at https://skyways.example/trips",
        )
    report = rng.randrange(1000, 9999)
    amount = rng.randrange(25, 900)
    return (
        f"Expense report #{report} approved",
        f"Hi {name},\n\nYour expense report #{report} (${amount}.{rng.randrange(100):02d}) was "
        "approved and will be reimbursed in the next payroll run.\n\n— ExpenseFlow",
    )
