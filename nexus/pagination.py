"""Pagination that does not count every match of a large filter.

An exact count of 10,000 matching rows costs the database more than the page
itself. Past a cap the number is shown as "1,000+" and paging stops there, as
GitHub's search does: a person sorts or narrows the filter to reach the rest.
"""

from django.core.paginator import Paginator
from django.utils.functional import cached_property


class CappedPaginator(Paginator):
    cap = 1000

    @cached_property
    def count(self) -> int:
        """The number of matches up to `cap`, or `cap` + 1 when there are more."""
        if not hasattr(self.object_list, "values"):
            return min(len(self.object_list), self.cap + 1)
        # Neither order nor columns matter to a count; dropping them lets the database stop early.
        return self.object_list.order_by().values("pk")[: self.cap + 1].count()

    @property
    def is_capped(self) -> bool:
        return self.count > self.cap
