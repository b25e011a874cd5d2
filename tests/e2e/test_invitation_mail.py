"""Invitations to a shared project by e-mail, with a real SMTP server (aiosmtpd): the link is
mailed to the address invited, and it, not an account that registered the address, claims the
invitation. Open sign-up proves no address."""
import time

from server import Client
from smtp_sink import link_in, token_in
from test_password_reset import WEB_URL, api, mailbox  # noqa: F401 (fixtures: `todo api` mailing through a real SMTP server)


def invite(owner: Client, project: str, email: str, role: str = "editor") -> dict:
    reply = owner.session.post(owner.url(f"/projects/{project}/invitations"), json={"email": email, "role": role}, timeout=10)
    assert reply.status_code == 202, reply.text
    return reply.json()


def test_the_link_is_mailed_to_the_address_and_claims_the_invitation_not_whoever_registered_it(api, mailbox):
    owner = Client(api.base)
    project = owner.session.post(owner.url("/projects"), json={"name": "Allotment"}, timeout=10).json()["id"]
    address = f"carol-{time.monotonic_ns()}@example.com"
    squatter = Client(api.base, email=address)  # registered the address first; nobody answers for it
    made = invite(owner, project, address.upper())
    assert made["mailed"] is True and made["email"] == address

    message = mailbox.wait_for_mail_to(address)
    assert "“Allotment”" in message["Subject"] and owner.email in message["Subject"]
    assert "as an editor" in message.get_content()
    link = link_in(message)
    assert link == made["accept_url"] and link.startswith(f"{WEB_URL}/invitations/{made['id']}?token=")
    assert "token=" + token_in(message) not in api.output(), "the link is never logged"

    assert squatter.session.get(squatter.url("/invitations"), timeout=10).json()["items"] == []
    assert squatter.session.post(squatter.url(f"/invitations/{made['id']}/accept"), timeout=10).status_code == 404
    carol = Client(api.base)  # whoever holds the mail, whatever address their account has
    joined = carol.session.post(carol.url(f"/invitations/{made['id']}/accept"), json={"token": token_in(message)}, timeout=10)
    assert joined.status_code == 200 and joined.json()["name"] == "Allotment" and joined.json()["role"] == "editor"
    again = squatter.session.post(squatter.url(f"/invitations/{made['id']}/accept"), json={"token": token_in(message)}, timeout=10)
    assert again.status_code == 404, "a link works once"


def test_invitation_mails_are_limited_per_owner(api, mailbox):
    """Open sign-up must not turn the server into a mailer for anyone: 20 invitation mails an
    hour per owner; past that the invitation is still made, unmailed, and the answer says so."""
    owner = Client(api.base)
    project = owner.session.post(owner.url("/projects"), json={"name": "Flyers"}, timeout=10).json()["id"]
    mailed = [invite(owner, project, f"n{index}-{time.monotonic_ns()}@example.com")["mailed"] for index in range(21)]
    assert mailed == [True] * 20 + [False]
    mailbox.wait_for(20)
    assert mailbox.quiet(1.0) == 20
    pending = owner.session.get(owner.url(f"/projects/{project}/members"), timeout=10).json()["invitations"]
    assert len(pending) == 21
