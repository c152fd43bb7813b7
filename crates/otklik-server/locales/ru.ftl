# The agents' workspace, in Russian. Every key here must be in uk.ftl and en.ftl too (a test checks).
app-name = Отклик
login-title = Вход
login-username = Имя пользователя
login-password = Пароль
login-submit = Войти
login-failed = Неверное имя пользователя или пароль.
login-throttled = Слишком много попыток входа. Подождите минуту и попробуйте снова.
login-expired = Сессия закончилась или форма устарела. Войдите снова.
signed-in-as = Вы вошли как { $name }
sign-out = Выйти
inbox-title = Входящие
inbox-empty = Обращений пока нет.
inbox-reference = Номер
inbox-kind = Тип
inbox-status = Статус
inbox-subject = Обращение
inbox-received = Получено
