//! New feedback on its way into a backend's intake path: the queue in front of the writers, which
//! take whatever is waiting as one group and commit it together.

use otklik_core::{Case, NewFeedback};
use tokio::sync::{mpsc, oneshot};

use crate::records::index_terms;
use crate::{IdempotencyKey, Stamp, StoreError};

/// One new piece of feedback to write.
pub(crate) struct Intake {
    pub(crate) feedback: NewFeedback,
    pub(crate) status_token: String,
    pub(crate) idempotency: Option<IdempotencyKey>,
    pub(crate) stamp: Stamp,
    /// The case's search terms, stemmed by the caller so the writer does not.
    pub(crate) terms: String,
}

impl Intake {
    pub(crate) fn new(
        feedback: NewFeedback,
        status_token: String,
        idempotency: Option<IdempotencyKey>,
        stamp: Stamp,
    ) -> Intake {
        let terms = index_terms(feedback.subject.iter().map(String::as_str).chain([feedback.text.as_str()]));
        Intake { feedback, status_token, idempotency, stamp, terms }
    }

    /// The case this feedback became, with the id and priority the writer decided.
    pub(crate) fn case(&self, id: i64, customer_id: i64, priority: otklik_core::Priority) -> Case {
        let feedback = &self.feedback;
        Case {
            id,
            channel: feedback.channel,
            kind: feedback.kind,
            cause: feedback.cause,
            audience: feedback.audience,
            sentiment: feedback.sentiment,
            language: feedback.language,
            priority,
            status: feedback.status,
            stage: feedback.stage.clone(),
            subject: feedback.subject.clone(),
            location: feedback.location.clone(),
            product: feedback.product.clone(),
            assignee: None,
            tags: Vec::new(),
            employees: Vec::new(),
            public: feedback.public,
            hidden: feedback.hidden,
            parent_id: None,
            external_id: feedback.external_id.clone(),
            customer_id,
            status_token: self.status_token.clone(),
            created_at: self.stamp.at,
            updated_at: self.stamp.at,
            due_at: feedback.due_at,
        }
    }
}

/// What writing an item led to.
pub(crate) enum Outcome {
    Created(Box<Case>),
    /// A redelivery of this existing case.
    Existing(i64),
}

/// What a job's caller is answered: an outcome per item, or why none of them was written.
pub(crate) type Answer = Result<Vec<Outcome>, StoreError>;

/// Items written together or not at all (a submission is one item, an import many), and the
/// caller waiting for them.
pub(crate) struct Job {
    pub(crate) items: Vec<Intake>,
    reply: oneshot::Sender<Answer>,
}

/// The queue in front of a backend's intake writers. A caller waits for the commit of the group
/// its submission went into; dropping the queue lets the writers finish what is queued and stop.
pub(crate) struct Queue {
    jobs: mpsc::UnboundedSender<Job>,
    writer: &'static str,
}

impl Queue {
    /// A queue and the receiving end for the writers; `writer` names them in errors.
    pub(crate) fn new(writer: &'static str) -> (Queue, mpsc::UnboundedReceiver<Job>) {
        let (jobs, receiver) = mpsc::unbounded_channel();
        (Queue { jobs, writer }, receiver)
    }

    /// Writes the items, all or none, in the next group commit; answers after the commit.
    pub(crate) async fn write(&self, items: Vec<Intake>) -> Answer {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Config(format!("the {} has stopped", self.writer));
        self.jobs.send(Job { items, reply }).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// The next group: `first` and the jobs queued behind it, up to about `max_items` items.
pub(crate) fn group(first: Job, queue: &mut mpsc::UnboundedReceiver<Job>, max_items: usize) -> Vec<Job> {
    let mut size = first.items.len();
    let mut group = vec![first];
    while size < max_items {
        match queue.try_recv() {
            Ok(job) => {
                size += job.items.len();
                group.push(job);
            }
            Err(_) => break,
        }
    }
    group
}

/// Answers each job of a group, in order.
pub(crate) fn reply(group: Vec<Job>, answers: Vec<Answer>) {
    for (job, answer) in group.into_iter().zip(answers) {
        let _ = job.reply.send(answer);
    }
}
