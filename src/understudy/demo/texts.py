"""The words people write: conversation topics with slots filled from the story.

A topic is a small script: a subject and an opening message, the answers a
recipient may give, and the closing lines the opener may send back. Slots in
braces (``{project}``, ``{customer}``, ``{amount}``, ...) are filled from the
story so the same topic reads differently every time it is used.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TOPICS", "Topic", "topics_for"]


@dataclass(frozen=True, slots=True)
class Topic:
    """One kind of conversation: who starts it, about what, and how it goes."""

    key: str
    audience: str
    category: str
    subject: str
    opener: str
    replies: tuple[str, ...]
    closers: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    asks: tuple[str, ...] = ()

    def suits(self, project: str) -> bool:
        """Return whether this topic fits conversations about ``project``."""
        return not self.projects or project in self.projects

    def closer(self, reply: int | None) -> str:
        """Return the opener's closing line for answer number ``reply`` ('' for none)."""
        if reply is None or len(self.closers) != len(self.replies):
            return self.closers[0] if self.closers else ""
        return self.closers[reply]


def topics_for(audience: str) -> tuple[Topic, ...]:
    """Return the topics a sender may start with this audience."""
    return tuple(t for t in TOPICS if t.audience == audience)


TOPICS: tuple[Topic, ...] = (
    Topic(
        "project-review",
        "project",
        "conversation",
        "{project}: review of {ticket} before {weekday}",
        "Could you take a look at {ticket} before {weekday}? I rewrote the part that handles "
        "retries and want a second pair of eyes before it goes into the {project} build.\n\n"
        "The main change is in the scheduler; everything else is tests.",
        (
            "Looked at it this morning. The retry logic reads well; I left two small comments "
            "on the backoff constants. Fine to merge once those are addressed.",
            "I can do it tomorrow morning — today is full of interviews. Is that soon enough?",
            "Reviewed. One concern: the new path skips the metrics hook, so we would lose the "
            "{metric} numbers on the dashboard. Can you add it back?",
        ),
        (
            "Thanks — fixing now.",
            "Tomorrow morning is fine, thanks.",
            "Good catch, will add the hook back.",
        ),
        projects=("atlas", "delta"),
    ),
    Topic(
        "project-plan",
        "project",
        "conversation",
        "{project} plan for next week",
        "Here is what I have for {project} next week:\n\n"
        "1. Finish {ticket} and close out the open review comments\n"
        "2. Pair with {person} on the migration checklist\n"
        "3. Dry run on staging on {weekday}\n\n"
        "Anything I am missing? I would rather cut scope now than on {weekday}.",
        (
            "Looks right to me. I would add a rollback rehearsal after the staging run.",
            "Can we move the dry run a day earlier? {person} is out on {weekday}.",
            "Agree with the order. I can own item 2 if {person} is stretched.",
        ),
        (
            "Added the rollback rehearsal. Thanks!",
            "Moved it. Thanks for flagging.",
            "Great — item 2 is yours.",
        ),
        projects=("atlas", "delta"),
    ),
    Topic(
        "project-numbers",
        "project",
        "conversation",
        "{project} numbers for the weekly update",
        "I am putting together the weekly update for {project}. Could you send me your "
        "numbers by end of day? I need {metric} for the last week and anything blocked "
        "for more than two days.",
        (
            "{metric} is flat week over week; nothing blocked longer than a day. "
            "One open question on {ticket} that I will chase tomorrow.",
            "Numbers are in the sheet. {ticket} is blocked on the vendor — third day now.",
            "Sending in an hour; waiting on the last test run to finish.",
        ),
        ("Got it, thanks.", "Thanks — I will call out the blocker.", "Thank you!"),
    ),
    Topic(
        "project-question",
        "project",
        "conversation",
        "Question on {ticket}",
        "Quick question on {ticket}: are we keeping the old export format for existing "
        "customers, or does everyone move to the new one at launch? {customer} asked "
        "and I want to give them a straight answer.",
        (
            "Old format stays for one release, then we migrate everyone. I will write that "
            "into the ticket so it is on record.",
            "Everyone moves at launch, but we give {customer} a converter. {person} has the "
            "details.",
        ),
        ("Clear, thanks.", "That works. I will let them know."),
        projects=("atlas", "delta"),
    ),
    Topic(
        "project-risk",
        "project",
        "conversation",
        "{project}: dependency on {vendor}",
        "Heads-up: our {project} timeline assumes {vendor} ships their API change by "
        "{date}. They have not confirmed. If it slips, we lose about {count} days. "
        "Should we start the fallback now?",
        (
            "Yes, start the fallback. Cheap insurance.",
            "Let us wait until {weekday}; I have a call with them on Wednesday.",
            "I would start it, but keep it small — one person, time-boxed to three days.",
        ),
        ("Will do.", "OK, waiting until {weekday}.", "Time-boxing it. Thanks."),
    ),
    Topic(
        "beacon-accounts",
        "project",
        "conversation",
        "Beacon: target accounts for {region}",
        "I pulled a first list of {count}0 target accounts for {region} from the CRM. "
        "About a third already talk to us through partners. Before I start outreach: do we "
        "lead with the Growth tier, or keep pricing out of the first call?",
        (
            "Lead with the use case, not the price. Mention Growth only if they ask.",
            "Lead with Growth — it is the point of Beacon. Bring {customer} as the reference.",
            "Send me the list first; I want to remove the accounts we lost last year.",
        ),
        ("Makes sense, will do.", "Good idea, adding the reference.", "Sending it now."),
        projects=("beacon",),
    ),
    Topic(
        "beacon-feedback",
        "project",
        "conversation",
        "Beacon: pricing feedback from {customer}",
        "Had the call with {customer} today. They like the Growth tier but asked whether SSO "
        "can be included without the Enterprise price. It came up in two other calls this "
        "month as well. Should we revisit?",
        (
            "Yes — SSO in Growth is table stakes now. I will take it to the pricing review.",
            "Not yet. Let us see how many deals we lose over it this quarter first.",
        ),
        ("Thanks, I will tell them it is under review.", "Fair, I will track it in the CRM."),
        projects=("beacon",),
    ),
    Topic(
        "cobalt-spend",
        "project",
        "conversation",
        "Cobalt: cloud spend for {month}",
        "Cloud spend for {month} came in at {amount}, {pct} above the plan. Most of it is "
        "staging clusters running over the weekend. Can we agree on auto-shutdown for "
        "staging outside working hours?",
        (
            "Agreed. I will set up the schedule this week; engineering should not notice.",
            "Yes, but exclude the load-test cluster until Atlas ships.",
        ),
        ("Great, thank you.", "Fair — excluding it."),
        projects=("cobalt",),
    ),
    Topic(
        "cobalt-vendors",
        "project",
        "conversation",
        "Cobalt: vendor renewals next quarter",
        "Three vendor contracts renew next quarter: {vendor}, our monitoring tool and the "
        "design suite. Together about {amount} a year. I suggest we renegotiate the first two "
        "and drop the third. Objections?",
        (
            "No objection. Keep the design suite for Hannah's team, though — they use it daily.",
            "Agree. Start with the monitoring tool; we have a cheaper quote already.",
        ),
        ("Noted — keeping the design suite.", "Will do, starting there."),
        projects=("cobalt",),
    ),
    Topic(
        "ember-loop",
        "project",
        "conversation",
        "Ember: interview loop for {role}",
        "For the {role} loop I propose: recruiter screen, technical screen, a take-home "
        "capped at three hours, and a final panel of three. Can you each take one panel "
        "slot per week until we fill the role?",
        (
            "Yes, I can do Tuesdays.",
            "I can do one slot, but not during the Atlas crunch — can we revisit in three weeks?",
        ),
        ("Thanks — Tuesdays it is.", "Understood, I will find someone else until then."),
        projects=("ember",),
    ),
    Topic(
        "ember-pipeline",
        "project",
        "conversation",
        "Ember: candidate pipeline this week",
        "Pipeline update: {count} candidates in screening, two in final rounds for {role}, "
        "one offer out. Time-to-hire is drifting up; the panel slots are the bottleneck.",
        (
            "Thanks. I will add two more interviewers from my team.",
            "Can we shorten the take-home? Good candidates are dropping out at that step.",
        ),
        ("That helps a lot.", "Good point, I will cut it to two hours."),
        projects=("ember",),
    ),
    Topic(
        "status-up",
        "up",
        "conversation",
        "Weekly update — {first_sender}",
        "Short update for the week:\n\n"
        "- Closed {count} tickets on {project}, including {ticket}\n"
        "- {metric} improved after the cache change\n"
        "- Next week: the migration checklist and the {customer} follow-up\n\n"
        "Nothing blocked right now.",
        (
            "Thanks, good week. Let us talk about the migration in our 1:1.",
            "Nice progress. Keep an eye on {customer} — they were unhappy last quarter.",
            "Thanks for this.",
        ),
        ("Will do — I will bring the migration notes.", "Noted, I will keep an eye on them.", ""),
    ),
    Topic(
        "pto-request",
        "up",
        "conversation",
        "PTO request: {date}",
        "I would like to take {date} off (plus the day after if that works). My {project} "
        "items are covered — {person} agreed to watch the queue. OK with you?",
        (
            "Approved. Enjoy the time off.",
            "Fine by me. Please put it in the calendar and the PTO tracker.",
            "Yes — just make sure the handover notes are in the channel.",
        ),
        ("Thank you!", "Done, it is in both.", "Will do, thanks."),
    ),
    Topic(
        "advice-up",
        "up",
        "conversation",
        "Need your input on {customer}",
        "{customer} wants a custom SLA for the renewal — 99.95% instead of 99.9%. It is "
        "a {amount} account. I do not think we should agree without a price change. How "
        "would you like to handle it?",
        (
            "Agree: no better SLA without a price change. Offer 99.95% at a {pct} uplift.",
            "Let me think about it overnight. Can you send me their usage numbers?",
            "Loop in {person}; they know the history on that account.",
        ),
        ("Will do.", "Sending the numbers now.", "Thanks, looping them in."),
    ),
    Topic(
        "assign-down",
        "down",
        "conversation",
        "Can you own {ticket}?",
        "Could you take over {ticket}? {person} is stretched with the {project} work and "
        "this needs someone by {weekday}. Happy to talk it through if anything is unclear.",
        (
            "Yes, I will pick it up today.",
            "I can, but it pushes my {project} work by two days. Still want me on it?",
            "Sure. Is there a design doc, or should I start from the ticket?",
        ),
        ("Thanks!", "Yes, please — the {project} work can wait.", "Start from the ticket."),
    ),
    Topic(
        "feedback-down",
        "down",
        "conversation",
        "Nice work on {ticket}",
        "Just wanted to say the write-up on {ticket} was excellent — clear, honest about the "
        "trade-offs, and {customer} noticed. Please share it in the {project} channel too.",
        ("Thank you, that means a lot. Will share it.", "Thanks! Posting it now."),
        (),
    ),
    Topic(
        "checkin-down",
        "down",
        "conversation",
        "Agenda for our 1:1",
        "For our 1:1 this week I would like to cover:\n\n"
        "- how {project} is going from your side\n"
        "- the {quarter} goals draft\n"
        "- anything blocking you\n\n"
        "Add anything you want to talk about.",
        (
            "Sounds good. I would like to add career growth — I have been thinking about "
            "the lead track.",
            "Works for me. Nothing to add.",
            "Could we also talk about the on-call rotation? It has been heavy lately.",
        ),
        ("Added it.", "Great, see you then.", "Yes, let us talk about on-call."),
    ),
    Topic(
        "exec-budget",
        "exec",
        "conversation",
        "{quarter} budget: {project} line",
        "Looking at the {quarter} numbers, {project} has committed {budget_pct} of its "
        "annual budget ({spent}). Do we need to re-forecast, or is the back half lighter?",
        (
            "Back half is lighter — the contractor ends this month. No re-forecast needed.",
            "Re-forecast please. I expect another {amount2} before the quarter closes.",
            "Let us go through it on {weekday}; I want to look at the vendor line too.",
        ),
        ("OK, leaving the forecast as is.", "Will update the model.", "Put it on the agenda."),
        asks=("priya-raman", "maya-okafor"),
    ),
    Topic(
        "exec-hiring",
        "exec",
        "conversation",
        "Hiring: {role}",
        "We have two finalists for the {role} role. My preference is the second candidate "
        "(stronger on systems design, weaker on stakeholder work). Offer range would be "
        "{amount} base. Any objections before we move?",
        (
            "No objection. Go ahead.",
            "I would like 20 minutes with them before the offer — can we do {weekday}?",
            "Fine with me, but please check the range against the new salary bands first.",
        ),
        ("Moving ahead.", "Setting it up.", "Checking the bands."),
        asks=("grace-liu", "maya-okafor"),
    ),
    Topic(
        "exec-customer",
        "exec",
        "conversation",
        "{customer} renewal",
        "{customer} renewal is due on {date}. They are at {amount} ARR and asking for "
        "a {pct} discount. I think we hold price and offer the portal early access "
        "instead. Thoughts?",
        (
            "Agree — hold price. Early access is a good trade.",
            "I would give a small discount for a two-year term. Price hold for one year.",
            "Let us discuss at exec staff. I want the finance view on the margin first.",
        ),
        ("Holding price.", "I will propose the two-year term.", "Adding it to the agenda."),
        asks=("tom-becker", "maya-okafor", "priya-raman"),
    ),
    Topic(
        "exec-board",
        "exec",
        "conversation",
        "Board deck: {project} slide",
        "Drafting the board deck. For the {project} slide I have: {spent} committed, "
        "{metric} tracking to target. Can you check that against your numbers by "
        "{weekday}?",
        (
            "Numbers match, one change: add the {amount2} we committed last week.",
            "Looks right. I would add one line on the hiring plan.",
            "Will check tonight and send edits.",
        ),
        ("Updated.", "Added.", "Thanks."),
        asks=("priya-raman", "daniel-reyes", "samuel-adeyemi"),
    ),
    Topic(
        "fyi-announce",
        "fyi",
        "fyi",
        "FYI: {project} update",
        "FYI — {project} moved {ticket} to done this week and the next milestone is "
        "{date}. No action needed; sharing so everyone has the same picture.",
        ("Thanks for the update.",),
        (),
    ),
    Topic(
        "fyi-office",
        "fyi",
        "fyi",
        "Office: {weekday} maintenance",
        "FYI: building maintenance on {weekday} from 7 to 10 am. The third floor will "
        "be without power; please work from home or the second floor that morning.",
        ("Thanks for the heads-up.",),
        (),
    ),
    Topic(
        "it-laptop",
        "it",
        "it-request",
        "Laptop replacement",
        "My laptop battery is down to about 40 minutes and it is two years old. Could I "
        "get a replacement? I travel to {customer} on {date}, so sooner is better.",
        (
            "Ordered a replacement; it should arrive by {weekday}. Please back up your files.",
            "We have a spare in the office — pick it up from the IT shelf tomorrow.",
        ),
        ("Thank you!", "Great, will do."),
    ),
    Topic(
        "it-access",
        "it",
        "it-request",
        "Access to the {vendor} console",
        "Could I get access to the {vendor} console? I need it for the {project} cost "
        "analysis. Read-only is fine.",
        (
            "Done — you should have read-only access now. Let me know if it does not work.",
            "Requested it; {vendor} takes a day to provision.",
        ),
        ("Works, thanks!", "Thanks."),
    ),
)
