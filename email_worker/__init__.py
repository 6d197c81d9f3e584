"""The email worker: consumes ``email.queue`` with the shared runtime (:mod:`delivery`) and delivers
over SMTP (:mod:`email_worker.smtp`), classifying replies in :mod:`email_worker.deliverer`."""
