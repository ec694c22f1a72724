"""Billing months and proration: what a plan change costs, in integer minor units.

The billing month. A customer's billing months start on the day of the month its account
became active (`activated_at`, else `created_at`), counted in the white-label's time zone,
and run to the same day of the next month. Where that day does not exist the month starts
on the last day instead, always measured from the first day, never from the previous month
(activated 31 January: months start 28 February, 31 March, 30 April...).

Proration. A change on a given day pays for that day and every day after it in the month:
`days_left` is the number of days from today to the month's end, today included, and
`days` the month's length. A plan's share of the month is

    prorate(price) = price * days_left / days, rounded half up to whole minor units,

and a change from plan A to plan B costs prorate(B) - prorate(A): charged when positive,
credited when negative, nothing when zero. Each plan is rounded on its own, so a change and
its reverse on the same day cancel to the cent, and any run of changes on one day
(A -> B -> A -> B) costs exactly what the single change (A -> B) costs. On the month's first
day a change costs the whole difference.

Who pays is the caller's choice (`LedgerEntry.WHITE_LABEL` for the white-label's account,
`LedgerEntry.CUSTOMER` for the customer's own balance): the amount is the same.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import models
from .models import Customer, LedgerEntry, Plan
from .templating import format_money

PAYERS = {
    LedgerEntry.WHITE_LABEL: "your white-label account",
    LedgerEntry.CUSTOMER: "your balance",
}


def _local_date(moment: dt.datetime, time_zone: str) -> dt.date:
    """A stored (naive UTC) time's date in `time_zone` (UTC when the zone is unknown)."""
    aware = moment.replace(tzinfo=dt.UTC)
    try:
        return aware.astimezone(ZoneInfo(time_zone or "UTC")).date()
    except (ZoneInfoNotFoundError, ValueError):
        return aware.date()


def _month_start(anchor: dt.date, months: int) -> dt.date:
    """The start of the billing month `months` after the one starting on `anchor`."""
    year, month = divmod(anchor.month - 1 + months, 12)
    year += anchor.year
    month += 1
    return dt.date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class BillingPeriod:
    """One billing month, seen from `today`."""

    start: dt.date
    end: dt.date  # the next month's first day (exclusive)
    today: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def days_left(self) -> int:
        """Days still to pay for: today and every day after it in this month."""
        return (self.end - self.today).days

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)


def billing_period(anchor: dt.datetime, time_zone: str, now: dt.datetime | None = None) -> BillingPeriod:
    """The billing month that `now` (default: this moment) falls in, for an account that
    became active at `anchor`; both naive UTC, counted in `time_zone`."""
    first = _local_date(anchor, time_zone)
    today = max(_local_date(now or models.utcnow(), time_zone), first)
    months = (today.year - first.year) * 12 + today.month - first.month
    if _month_start(first, months) > today:
        months -= 1
    return BillingPeriod(_month_start(first, months), _month_start(first, months + 1), today)


def customer_billing_period(customer: Customer, now: dt.datetime | None = None) -> BillingPeriod:
    """The customer's current billing month, in its white-label's time zone."""
    anchor = customer.activated_at or customer.created_at
    return billing_period(anchor, customer.white_label.time_zone, now)


def prorate(price: int, period: BillingPeriod) -> int:
    """A monthly `price`'s share for the days left in `period`, half up to whole minor units."""
    return (2 * price * period.days_left + period.days) // (2 * period.days)


@dataclass(frozen=True)
class PlanChangeQuote:
    """What moving a customer from `old` to `new` costs today (amount > 0 charged, < 0 credited)."""

    old: Plan | None
    new: Plan
    period: BillingPeriod
    currency: str

    @property
    def old_price(self) -> int:
        return self.old.monthly_price if self.old is not None else 0

    @property
    def old_name(self) -> str:
        return self.old.name if self.old is not None else "no plan"

    @property
    def old_share(self) -> int:
        return prorate(self.old_price, self.period)

    @property
    def new_share(self) -> int:
        return prorate(self.new.monthly_price, self.period)

    @property
    def amount(self) -> int:
        return self.new_share - self.old_share

    @property
    def unchanged(self) -> bool:
        return self.old is not None and self.old.id == self.new.id

    def _days(self) -> str:
        left = self.period.days_left
        return "the last day of this billing month" if left == 1 else f"the {left} days left of this billing month"

    def describe(self, payer: str = LedgerEntry.WHITE_LABEL) -> str:
        """What the change will charge or credit, in a sentence for the person about to confirm:
        "Business costs NZ$50.00 more a month: NZ$41.66 for the 25 days left of this billing
        month (NZ$65.83 for Business less NZ$24.17 for Starter) is charged to your white-label
        account." """
        money = lambda minor: format_money(minor, self.currency)  # noqa: E731
        if self.unchanged:
            return "The current plan: choosing it changes nothing."
        difference = self.new.monthly_price - self.old_price
        if not self.amount:
            if not difference:
                return f"{self.new.name} costs the same as {self.old_name}: nothing is charged or credited."
            return (
                f"{self.new.name} costs {money(abs(difference))} {'more' if difference > 0 else 'less'} a month; "
                "rounded to the cent, nothing is charged or credited for what is left of this billing month."
            )
        more = self.amount > 0
        shares = (
            f"{money(self.new_share)} for {self.new.name} less {money(self.old_share)} for {self.old_name}"
            if more
            else f"{money(self.old_share)} for {self.old_name} less {money(self.new_share)} for {self.new.name}"
        )
        return (
            f"{self.new.name} costs {money(abs(difference))} {'more' if difference > 0 else 'less'} a month: "
            f"{money(abs(self.amount))} for {self._days()} ({shares}) is "
            f"{'charged to' if more else 'credited to'} {PAYERS.get(payer, payer)}."
        )

    def outcome(self, payer: str = LedgerEntry.WHITE_LABEL) -> str:
        """What the change did, once made: "NZ$41.66 was charged to your white-label account for
        the 25 days left of this billing month." """
        if not self.amount:
            return "Nothing was charged or credited."
        verb = "charged to" if self.amount > 0 else "credited to"
        return (
            f"{format_money(abs(self.amount), self.currency)} was {verb} {PAYERS.get(payer, payer)} for {self._days()}."
        )

    def ledger_reason(self, business_name: str) -> str:
        """The ledger line (at most 200 characters): whose plan, from which to which, how much of the month."""
        tail = (
            f": {self.old_name} to {self.new.name}, {self.period.days_left} of {self.period.days} days "
            f"from {self.period.today:%-d %b %Y}"
        )
        head = "Plan change for "
        room = 200 - len(head) - len(tail)
        name = business_name if len(business_name) <= room else business_name[: max(room - 1, 0)] + "…"
        return (head + name + tail)[:200]


def quote_plan_change(customer: Customer, new: Plan, now: dt.datetime | None = None) -> PlanChangeQuote:
    """What moving `customer` from its current plan to `new` costs today."""
    return PlanChangeQuote(
        old=customer.plan,
        new=new,
        period=customer_billing_period(customer, now),
        currency=customer.white_label.currency,
    )


@dataclass(frozen=True)
class NumbersQuote:
    """What choosing `adding` more numbers costs today for an account holding `held`: numbers
    within the plan's included ones are free; each one beyond them costs the plan's
    `extra_number_price` a month, prorated for the days left of the billing month as a plan is.
    A plan whose extra number price is 0 offers no numbers beyond those it includes."""

    plan: Plan | None
    held: int
    adding: int
    period: BillingPeriod
    currency: str

    @property
    def included(self) -> int:
        return self.plan.included_numbers if self.plan is not None else 0

    @property
    def free_left(self) -> int:
        """Numbers the plan still includes at no charge."""
        return max(self.included - self.held, 0)

    @property
    def extra(self) -> int:
        """How many of the numbers being added go beyond what the plan includes."""
        return max(self.adding - self.free_left, 0)

    @property
    def monthly_each(self) -> int:
        return self.plan.extra_number_price if self.plan is not None else 0

    @property
    def offered(self) -> bool:
        """Whether the plan offers numbers beyond those it includes."""
        return self.monthly_each > 0

    @property
    def each(self) -> int:
        """One extra number's share of the days left."""
        return prorate(self.monthly_each, self.period)

    @property
    def amount(self) -> int:
        return self.extra * self.each

    def _days(self) -> str:
        left = self.period.days_left
        return "the last day of this billing month" if left == 1 else f"the {left} days left of this billing month"

    def terms(self) -> str:
        """The rule in a sentence for the person choosing: "Your Business plan includes 5 numbers
        and the account has 1, so 4 more are included. Each number after that costs NZ$5.00 a
        month: NZ$4.17 for the 25 days left of this billing month, charged to your balance." """
        money = lambda minor: format_money(minor, self.currency)  # noqa: E731
        if self.plan is None:
            return "The account has no plan, so it includes no numbers: choose a plan first."
        name = self.plan.name
        included = f"{self.included} number{'s' if self.included != 1 else ''}"
        held = str(self.held) if self.held else "none"
        head = f"The {name} plan includes {included} and the account has {held}"
        head += (
            f", so {self.free_left} more {'is' if self.free_left == 1 else 'are'} included." if self.free_left else "."
        )
        if not self.offered:
            return head + " It offers no numbers beyond those it includes: change the plan to get more."
        return (
            f"{head} Each number after that costs {money(self.monthly_each)} a month: "
            f"{money(self.each)} for {self._days()}, charged to your balance."
        )

    def refusal(self, balance: int) -> str | None:
        """Why these numbers cannot be added with `balance` available, or None when they can."""
        if not self.extra:
            return None
        money = lambda minor: format_money(minor, self.currency)  # noqa: E731
        if not self.offered:
            name = self.plan.name if self.plan is not None else "chosen"
            return (
                f"The {name} plan includes {self.included} number{'s' if self.included != 1 else ''} and offers "
                f"none beyond them. Choose at most {self.free_left}, or change the plan first."
            )
        if self.amount > balance:
            return (
                f"{self.extra} of these numbers {'go' if self.extra != 1 else 'goes'} beyond your plan and "
                f"cost{'s' if self.extra == 1 else ''} {money(self.amount)} for {self._days()}, but your balance is "
                f"only {money(max(balance, 0))}. Top up first, or choose fewer numbers."
            )
        return None

    def outcome(self) -> str:
        """What adding them charged, once done."""
        if not self.amount:
            return "Nothing was charged: your plan includes them."
        return f"{format_money(self.amount, self.currency)} was charged to your balance for {self._days()}."

    def ledger_reason(self, business_name: str) -> str:
        """The ledger line (at most 200 characters)."""
        tail = (
            f": {self.extra} number{'s' if self.extra != 1 else ''} beyond the plan, "
            f"{self.period.days_left} of {self.period.days} days from {self.period.today:%-d %b %Y}"
        )
        head = "Extra numbers for "
        room = 200 - len(head) - len(tail)
        name = business_name if len(business_name) <= room else business_name[: max(room - 1, 0)] + "…"
        return (head + name + tail)[:200]


def quote_numbers(customer: Customer, held: int, adding: int, now: dt.datetime | None = None) -> NumbersQuote:
    """What adding `adding` numbers to `customer` (holding `held`) costs today."""
    return NumbersQuote(
        plan=customer.plan,
        held=held,
        adding=adding,
        period=customer_billing_period(customer, now),
        currency=customer.white_label.currency,
    )


def numbers_held(customer: Customer) -> int:
    return models.PhoneNumber.select().where(models.PhoneNumber.customer == customer.id).count()


def numbers_quote(customer: Customer, adding: int) -> NumbersQuote:
    """What adding `adding` numbers to the account costs today (NumbersQuote), counting the
    numbers it already holds."""
    return quote_numbers(customer, numbers_held(customer), adding)
