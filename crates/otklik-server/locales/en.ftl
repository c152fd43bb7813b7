# The agents' workspace, in English.
app-name = Otklik
login-title = Sign in
login-username = Username
login-password = Password
login-submit = Sign in
login-failed = Wrong username or password.
login-throttled = Too many sign-in attempts. Wait a minute and try again.
login-expired = The session ended or the form is out of date. Sign in again.
signed-in-as = Signed in as { $name }
sign-out = Sign out
inbox-title = Inbox
inbox-empty = No cases yet.
inbox-reference = Reference
inbox-kind = Kind
inbox-status = Status
inbox-subject = Feedback
inbox-received = Received
