//! What services answer: malformed answers, and fields they did not send
//! (an SDK default is not an answer).

mod canned_http;
mod faults;
