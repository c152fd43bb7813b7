# The agents' workspace, in Ukrainian.
app-name = Відгук
login-title = Вхід
login-username = Ім'я користувача
login-password = Пароль
login-submit = Увійти
login-failed = Неправильне ім'я користувача або пароль.
login-throttled = Забагато спроб входу. Зачекайте хвилину й спробуйте знову.
login-expired = Сесія закінчилася або форма застаріла. Увійдіть знову.
signed-in-as = Ви увійшли як { $name }
sign-out = Вийти
inbox-title = Вхідні
inbox-empty = Звернень поки немає.
inbox-reference = Номер
inbox-kind = Тип
inbox-status = Статус
inbox-subject = Звернення
inbox-received = Отримано
