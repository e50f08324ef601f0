//! The one guard around every handler, and the one way to run blocking work.
//!
//! Every request handler's whole body is the future given to [`request`]: it
//! is polled under `catch_unwind`, so a panic anywhere in it becomes an
//! internal error (-32603) for that request only, and the server keeps
//! serving. Blocking work (file I/O, and parsing what was read) runs through
//! [`blocking`] on tokio's blocking threads; a panic there resumes in the
//! request that awaited it, so the same guard answers it. Notification
//! handlers run under [`notification`], which logs instead. [`catch`] is the
//! only place in the server that calls `catch_unwind`.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::Poll;

use tower_lsp_server::jsonrpc::{self, Result};
use tracing::error;

tokio::task_local! {
    /// The method of the request being handled (for `blocking`'s test hook).
    static METHOD: &'static str;
}

/// Runs `f`, catching a panic: its message as the error.
pub(crate) fn catch<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|panic| message(&*panic))
}

fn message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Polls `fut` with every poll under [`catch`]: a panic ends it (the future
/// is not polled again) with the panic's message.
async fn caught<T>(fut: impl Future<Output = T>) -> std::result::Result<T, String> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| match catch(|| fut.as_mut().poll(cx)) {
        Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
        Ok(Poll::Pending) => Poll::Pending,
        Err(what) => Poll::Ready(Err(what)),
    })
    .await
}

/// The body of the handler of the request `method`: a panic anywhere in it,
/// or in the blocking work it awaits, is an internal error for this request.
pub(crate) async fn request<T>(
    method: &'static str,
    body: impl Future<Output = Result<T>>,
) -> Result<T> {
    let body = METHOD.scope(method, async move {
        test_hooks::panic_point(method);
        body.await
    });
    match caught(body).await {
        Ok(result) => result,
        Err(what) => {
            error!(
                method,
                "internal error (panic) while handling a request: {what}"
            );
            let mut e = jsonrpc::Error::internal_error();
            e.message = format!("okstra-lsp internal error: {what}").into();
            Err(e)
        }
    }
}

/// The body of the handler of the notification `method`: a panic is logged,
/// and the server keeps serving.
pub(crate) async fn notification(method: &'static str, body: impl Future<Output = ()>) {
    if let Err(what) = caught(body).await {
        error!(
            method,
            "internal error (panic) while handling a notification: {what}"
        );
    }
}

/// Runs `f` on tokio's blocking threads, so that no runtime worker (and no
/// other request) waits while it reads files. A panic in `f` resumes in the
/// caller, inside its [`request`] guard.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    let method = METHOD.try_with(|m| *m).ok();
    let work = tokio::task::spawn_blocking(move || {
        if let Some(method) = method {
            test_hooks::panic_point(&format!("{method}/blocking"));
        }
        f()
    });
    match work.await {
        Ok(value) => Ok(value),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => {
            let mut err = jsonrpc::Error::internal_error();
            err.message = format!("okstra-lsp: blocking work did not finish: {e}").into();
            Err(err)
        }
    }
}

/// Fault injection for the end-to-end tests, inert unless the server's own
/// environment has `OKSTRA_LSP_TEST_HOOKS=1`.
mod test_hooks {
    use std::sync::{Mutex, OnceLock};

    /// With `OKSTRA_LSP_TEST_PANIC=point,point,…`, the first time each named
    /// point is reached it panics. A request's points are its method
    /// (`textDocument/hover`: the start of its handler's body) and
    /// `<method>/blocking` (the start of the first blocking work it runs).
    pub(crate) fn panic_point(point: &str) {
        static ARMED: OnceLock<Option<Mutex<Vec<String>>>> = OnceLock::new();
        let armed = ARMED.get_or_init(|| {
            if std::env::var_os("OKSTRA_LSP_TEST_HOOKS").is_none_or(|v| v != "1") {
                return None;
            }
            let points = std::env::var("OKSTRA_LSP_TEST_PANIC").ok()?;
            Some(Mutex::new(
                points
                    .split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect(),
            ))
        });
        let Some(armed) = armed else {
            return;
        };
        let hit = armed.lock().is_ok_and(|mut points| {
            let at = points.iter().position(|p| p == point);
            at.map(|i| points.remove(i)).is_some()
        });
        if hit {
            panic!("test hook: a panic at {point}");
        }
    }
}
