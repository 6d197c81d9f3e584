"""Mail that comes back, as real mail systems write it: DSNs in the shapes Postfix, Exim, Gmail and Microsoft 365
send (trimmed of their long human-readable parts, fields as sent), the ARF example of RFC 5965 Appendix B, and
a malformed report. Each takes the return path it is sent to and, for ARF, the Message-ID it quotes, so the
integration tests can send them to the running inbound service."""

from __future__ import annotations


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def postfix_dsn(return_path: str, recipient: str = "nobody@example.org") -> bytes:
    """Postfix's "Undelivered Mail Returned to Sender": 5.1.1, original headers as text/rfc822-headers."""
    return _crlf(f"""Return-Path: <>
From: MAILER-DAEMON@mail.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {return_path}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="3F1A02A0B1.1701942000/mail.example.net"
Content-Transfer-Encoding: 8bit
Message-Id: <20231207093000.3F1A02A0B1@mail.example.net>

This is a MIME-encapsulated message.

--3F1A02A0B1.1701942000/mail.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<{recipient}>: host mx.example.org[203.0.113.5] said: 550 5.1.1
    <{recipient}>: Recipient address rejected: User unknown in virtual
    mailbox table (in reply to RCPT TO command)

--3F1A02A0B1.1701942000/mail.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.net
X-Postfix-Queue-ID: 3F1A02A0B1
X-Postfix-Sender: rfc822; {return_path}
Arrival-Date: Thu,  7 Dec 2023 09:29:58 +0000 (UTC)

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address
    rejected: User unknown in virtual mailbox table

--3F1A02A0B1.1701942000/mail.example.net
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <{return_path}>
From: Notifications <notifications@example.com>
To: <{recipient}>
Subject: Welcome, Ada
Message-ID: <0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f01@notifications.local>

--3F1A02A0B1.1701942000/mail.example.net--
""")


def exim_dsn(return_path: str, recipient: str = "ghost@example.org") -> bytes:
    """Exim's "Mail delivery failed: returning message to sender" with its RFC 3464 part (Status 5.0.0)."""
    return _crlf(f"""Return-path: <>
Envelope-to: {return_path}
From: Mail Delivery System <Mailer-Daemon@mx1.example.net>
To: {return_path}
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1rBAbC-0003xY-Zz@mx1.example.net>
X-Failed-Recipients: {recipient}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary=1701942001-eximdsn-1804289383

--1701942001-eximdsn-1804289383
Content-type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {recipient}
    host mx.example.org [198.51.100.7]
    SMTP error from remote mail server after RCPT TO:<{recipient}>:
    550 No Such User Here

--1701942001-eximdsn-1804289383
Content-type: message/delivery-status

Reporting-MTA: dns; mx1.example.net

Action: failed
Final-Recipient: rfc822;{recipient}
Status: 5.0.0
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; 550 No Such User Here

--1701942001-eximdsn-1804289383
Content-type: message/rfc822

Return-path: <{return_path}>
From: Notifications <notifications@example.com>
To: {recipient}
Subject: Welcome, Ada
Message-ID: <0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f02@notifications.local>

Hello Ada

--1701942001-eximdsn-1804289383--
""")


def gmail_dsn(return_path: str, recipient: str = "no.such.user.xyz@gmail.com") -> bytes:
    """Gmail's "Delivery Status Notification (Failure)": a multipart/related human part, then the report."""
    return _crlf(f"""Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {return_path}
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
References: <0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f03@notifications.local>
In-Reply-To: <0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f03@notifications.local>
X-Failed-Recipients: {recipient}
Message-ID: <656f9b2a.050a0220.1a2b3.4c5dSMTPIN_ADDED_BROKEN@mx.google.com>
Date: Thu, 07 Dec 2023 01:30:02 -0800 (PST)
MIME-Version: 1.0
Content-Type: multipart/report; boundary="000000000000b1a2c3060bfe1234"; report-type=delivery-status

--000000000000b1a2c3060bfe1234
Content-Type: multipart/related; boundary="000000000000b1b5d6060bfe1235"

--000000000000b1b5d6060bfe1235
Content-Type: multipart/alternative; boundary="000000000000b1b5d7060bfe1236"

--000000000000b1b5d7060bfe1236
Content-Type: text/plain; charset="UTF-8"


** Address not found **

Your message wasn't delivered to {recipient} because the address couldn't be found, or is unable to \
receive mail.

--000000000000b1b5d7060bfe1236
Content-Type: text/html; charset="UTF-8"

<html><body><h2>Address not found</h2></body></html>

--000000000000b1b5d7060bfe1236--
--000000000000b1b5d6060bfe1235--
--000000000000b1a2c3060bfe1234
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; notifications@example.com
Arrival-Date: Thu, 07 Dec 2023 01:30:00 -0800 (PST)
X-Original-Message-ID: <0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f03@notifications.local>

Final-Recipient: rfc822; {recipient}
Action: failed
Status: 5.1.1
Remote-MTA: dns; gmail-smtp-in.l.google.com. (142.250.102.27, the server for the domain gmail.com.)
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try
 550-5.1.1 double-checking the recipient's email address for typos or
 550-5.1.1 unnecessary spaces. For more information, go to
 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser a1-20020a05600c000100b0040c1234567si.123 - gsmtp
Last-Attempt-Date: Thu, 07 Dec 2023 01:30:02 -0800 (PST)

--000000000000b1a2c3060bfe1234
Content-Type: message/rfc822

From: Notifications <notifications@example.com>
To: {recipient}
Subject: Welcome, Ada
Message-ID: <0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f03@notifications.local>

Hello Ada

--000000000000b1a2c3060bfe1234--
""")


def gmail_delay(return_path: str, recipient: str = "busy@example.org") -> bytes:
    """Gmail's "Delivery Status Notification (Delay)": 4.4.1, still retrying."""
    return _crlf(f"""From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {return_path}
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Delay)
MIME-Version: 1.0
Content-Type: multipart/report; boundary="000000000000d4e5f6060bfe9999"; report-type=delivery-status

--000000000000d4e5f6060bfe9999
Content-Type: text/plain; charset="UTF-8"

** Message not delivered yet **

--000000000000d4e5f6060bfe9999
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Arrival-Date: Thu, 07 Dec 2023 01:30:00 -0800 (PST)

Final-Recipient: rfc822; {recipient}
Action: delayed
Status: 4.4.1
Remote-MTA: dns; mx.example.org. (203.0.113.9, the server for the domain example.org.)
Diagnostic-Code: smtp; The recipient server did not accept our requests to connect.
 [mx.example.org. 203.0.113.9: timed out]
Last-Attempt-Date: Thu, 07 Dec 2023 02:31:12 -0800 (PST)
Will-Retry-Until: Fri, 08 Dec 2023 01:30:01 -0800 (PST)

--000000000000d4e5f6060bfe9999--
""")


def microsoft_dsn(return_path: str, recipient: str = "missing@contoso.com") -> bytes:
    """Microsoft 365 / Outlook's "Undeliverable:" non-delivery report: 5.1.10 RESOLVER.ADR.RecipientNotFound,
    lower-case field names as Exchange writes them."""
    return _crlf(f"""From: postmaster@contoso.onmicrosoft.com
To: {return_path}
Date: Thu, 7 Dec 2023 09:30:05 +0000
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="94eb6d3c-1c72-46a4-8f54-6d1e0b2a1f00"
X-MS-Exchange-Message-Is-Ndr:
Content-Language: en-US
Message-ID: <a1b2c3d4-0000-4e1f-9a8b-123456789abc@AM0PR01MB1234.eurprd01.prod.exchangelabs.com>
Subject: Undeliverable: Welcome, Ada
Auto-Submitted: auto-replied
MIME-Version: 1.0

--94eb6d3c-1c72-46a4-8f54-6d1e0b2a1f00
Content-Type: multipart/alternative; differences=Content-Type;
\tboundary="b2c34f5e-5b1d-4f22-8a0a-111111111111"

--b2c34f5e-5b1d-4f22-8a0a-111111111111
Content-Type: text/plain; charset="us-ascii"

Your message to {recipient} couldn't be delivered.
missing wasn't found at contoso.com.

--b2c34f5e-5b1d-4f22-8a0a-111111111111
Content-Type: text/html; charset="us-ascii"

<html><body><p>Your message to {recipient} couldn't be delivered.</p></body></html>

--b2c34f5e-5b1d-4f22-8a0a-111111111111--

--94eb6d3c-1c72-46a4-8f54-6d1e0b2a1f00
Content-Type: message/delivery-status

Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com
Received-From-MTA: dns;mail.example.net
Arrival-Date: Thu, 7 Dec 2023 09:30:04 +0000

Original-Recipient: rfc822;{recipient}
Final-Recipient: rfc822;{recipient}
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient {recipient} not found by SMTP
 address lookup

--94eb6d3c-1c72-46a4-8f54-6d1e0b2a1f00
Content-Type: text/rfc822-headers

From: Notifications <notifications@example.com>
To: <{recipient}>
Subject: Welcome, Ada
Message-ID: <0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f04@notifications.local>

--94eb6d3c-1c72-46a4-8f54-6d1e0b2a1f00--
""")


def rfc5965_arf(
    to: str = "abuse@example.net",
    message_id: str = "8787KJKJ3K4J3K4J3K4J3.mail@example.net",
    original_rcpt_to: str = "user@example.com",
) -> bytes:
    """RFC 5965 Appendix B.2, "A More Complex Example": the original message quoted whole (its Message-ID, as in
    the RFC, without angle brackets); ``to``, ``message_id`` and ``Original-Rcpt-To`` can be swapped for ours."""
    return _crlf(f"""From: <abusedesk@example.com>
Date: Thu, 8 Mar 2005 17:40:36 EDT
Subject: FW: Earn money
To: <{to}>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
     boundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
192.0.2.1 on Thu, 8 Mar 2005 14:00:00 EDT.  For more information
about this format please see http://www.mipassoc.org/arf/.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <somespammer@example.net>
Original-Rcpt-To: <{original_rcpt_to}>
Arrival-Date: Thu, 8 Mar 2005 14:00:00 EDT
Reporting-MTA: dns; mail.example.com
Source-IP: 192.0.2.1
Authentication-Results: mail.example.com;
               spf=fail smtp.mail=somespammer@example.com
Reported-Domain: example.net
Reported-Uri: http://example.net/earn_money.html
Reported-Uri: mailto:user@example.com
Removal-Recipient: user@example.com

--part1_13d.2e68ed54_boundary
Content-Type: message/rfc822
Content-Disposition: inline

From: <somespammer@example.net>
Received: from mailserver.example.net
        (mailserver.example.net [192.0.2.1])
        by example.com with ESMTP id M63d4137594e46;
        Thu, 08 Mar 2005 14:00:00 -0400
To: <Undisclosed Recipients>
Subject: Earn money
MIME-Version: 1.0
Content-type: text/plain
Message-ID: {message_id}
Date: Thu, 02 Sep 2004 12:31:03 -0500

Spam Spam Spam
Spam Spam Spam
Spam Spam Spam
Spam Spam Spam
--part1_13d.2e68ed54_boundary--
""")


def malformed_report(to: str) -> bytes:
    """Claims to be a delivery-status report but has no report part, and its boundary never closes."""
    return _crlf(f"""From: MAILER-DAEMON@broken.example
To: {to}
Subject: failure notice
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="never-closed"

--never-closed
Content-Type: text/plain

Hi. This is the qmail-send program. I'm afraid I wasn't able to deliver your message.
Status: 5.1.1
""")
