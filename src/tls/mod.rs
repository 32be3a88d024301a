//! TLS on the public listener (`[http.tls]`): the certificate and key read
//! from PEM files into a rustls server configuration, swapped for a fresh one
//! when the files change or on SIGHUP, so a renewed certificate is served
//! without a restart; and mutual TLS for the cluster links (`[cluster.tls]`).

mod certificates;
mod cluster_link;
mod reloading;

pub(crate) use certificates::TlsError;
pub(crate) use cluster_link::{ClusterLinkTls, seed_server_name};
pub(crate) use reloading::{ReloadingAcceptor, watch_certificate_files};
