//! `augur serve`: wires the store, the scheduler and both transports onto one listener.
//!
//! Startup: open the store → load secrets → resume every non-terminal run → serve.
//! Shutdown (SIGINT/SIGTERM or the `shutdown` future): stop accepting → stop the run
//! tasks (in-flight measurements get `shutdown_grace` to finish and be committed) →
//! let open connections drain → close the store, which checkpoints the WAL.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::api;
use crate::config::Config;
use crate::scheduler::Scheduler;
use crate::service::Service;
use crate::store::Store;
use crate::template::SecretSource;

/// The merged router: gRPC services, HTTP routes, and a fallback that answers each
/// protocol in its own terms.
pub fn router(service: Service, body_limit: usize) -> axum::Router {
    api::grpc::routes(service.clone())
        .into_axum_router()
        .merge(api::http::router(service, body_limit))
        .fallback(api::http::fallback)
}

/// Builds the service from the configuration (store opened, runs resumed).
pub fn build(config: &Config) -> anyhow::Result<Service> {
    let store = match &config.db {
        Some(path) => Store::open(path).with_context(|| format!("opening database {}", path.display()))?,
        None => Store::open_in_memory().context("opening in-memory database")?,
    };
    let store = Arc::new(store);
    let secrets =
        crate::secrets::Secrets::load(config.secrets_file.as_deref(), config.secrets_dir.as_deref(), std::env::vars())
            .map_err(anyhow::Error::msg)?;
    let secrets: Arc<dyn SecretSource + Send + Sync> = Arc::new(secrets);
    let scheduler = Scheduler::new(Arc::clone(&store), Arc::clone(&secrets), config.scheduler.clone(), Arc::default());
    let resumed = scheduler.resume_all().context("resuming runs")?;
    tracing::info!(message = "Store opened.", db = ?config.db, resumed);
    Ok(Service::new(store, scheduler, secrets))
}

/// Serves on an already-bound listener until `shutdown` resolves, then shuts down in
/// order.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let service = build(&config)?;
    let stop = CancellationToken::new();
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            shutdown.await;
            stop.cancel();
        });
    }
    // Stopping the run tasks ends watch streams, so connections can drain.
    let scheduler = Arc::clone(service.scheduler());
    let stopper = {
        let stop = stop.clone();
        tokio::spawn(async move {
            stop.cancelled().await;
            tracing::info!(message = "Shutting down: finishing in-flight measurements.");
            scheduler.shutdown().await;
        })
    };
    let addr = listener.local_addr().context("listener address")?;
    tracing::info!(message = "Listening.", %addr, grpc = true, http = true);
    let app = router(service.clone(), config.body_limit);
    axum::serve(listener, app).with_graceful_shutdown(stop.clone().cancelled_owned()).await.context("serving")?;
    stop.cancel();
    let _ = stopper.await;
    drop(service);
    tracing::info!(message = "Stopped.");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(message = "Cannot listen for Ctrl-C.", %error);
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(error) => {
                tracing::warn!(message = "Cannot listen for SIGTERM.", %error);
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
