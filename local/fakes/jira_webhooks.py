"""The Jira fake's admin webhook: one registration (URL, secret), fed by the fake's changes.

Every change the fake makes, through its REST API (as the API user, which is how our own
writes come back as echoes) or as an agent (``JiraFake.transition_as``, ``comment_as``), is
delivered as Jira Cloud delivers it (``desk_webhooks``): ``jira:issue_updated`` with the
changelog of the status (and the resolution it sets or clears) or of the assignee, and
``comment_created``. Nothing is sent until a webhook is registered.
"""

from __future__ import annotations

from typing import Any

from local.fakes.desk_webhooks import (
    WebhookSender,
    jira_change,
    jira_comment_created,
    jira_issue_updated,
    jira_sender,
)
from local.fakes.jira_shapes import Comment, Issue, Shapes


class JiraWebhook:
    """The registration and its sender; ``sender`` is None until one is registered."""

    def __init__(self) -> None:
        self.sender: WebhookSender | None = None

    def register(self, url: str, secret: str, **options: Any) -> WebhookSender:
        if self.sender is not None:
            self.sender.stop()
        self.sender = jira_sender(url, secret, **options)
        return self.sender

    def stop(self) -> None:
        if self.sender is not None:
            self.sender.stop()

    def status_changed(
        self,
        shapes: Shapes,
        issue: Issue,
        user: dict[str, Any],
        before: tuple[str, dict[str, Any] | None],
    ) -> None:
        """``issue`` left status ``before[0]`` (with resolution ``before[1]``)."""
        if self.sender is None:
            return
        workflow = issue.project.workflow
        old, new = workflow.status(before[0]), workflow.status(issue.status)
        items = [jira_change("status", (old.id, old.name), (new.id, new.name))]
        resolution = issue.fields.get("resolution")
        if resolution != before[1]:
            items.append(jira_change("resolution", _pair(before[1]), _pair(resolution)))
        self.sender.deliver(jira_issue_updated(shapes.issue(issue), user, items))

    def assignee_changed(
        self, shapes: Shapes, issue: Issue, user: dict[str, Any], before: dict[str, Any] | None
    ) -> None:
        if self.sender is None:
            return
        after = issue.fields.get("assignee")
        item = jira_change("assignee", _person(before), _person(after))
        self.sender.deliver(jira_issue_updated(shapes.issue(issue), user, [item]))

    def commented(
        self,
        shapes: Shapes,
        issue: Issue,
        comment: Comment,
        text: str,
        *,
        author: dict[str, Any] | None = None,
    ) -> None:
        """A comment was added, by the API user unless ``author`` says who."""
        if self.sender is None:
            return
        shape = shapes.comment(comment, issue, properties=False)
        if author is not None:
            shape |= {"author": author, "updateAuthor": author}
        self.sender.deliver(jira_comment_created(shapes.issue(issue), shape, text))


def _pair(value: dict[str, Any] | None) -> tuple[Any, Any]:
    return (value.get("id"), value.get("name")) if value else (None, None)


def _person(value: dict[str, Any] | None) -> tuple[Any, Any]:
    return (value.get("accountId"), value.get("displayName")) if value else (None, None)
