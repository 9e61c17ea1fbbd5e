/** SNS refuses a Subject over 100 characters, or with anything but printable ASCII. */
const MAX_SUBJECT_LENGTH = 100;

/** `text` as SNS takes a Subject: printable ASCII (anything else becomes `?`), cut to 100 characters. */
export function snsSubject(text: string): string {
  const subject = text.replace(/[^\x20-\x7e]/g, '?');
  return subject.length <= MAX_SUBJECT_LENGTH ? subject : `${subject.slice(0, MAX_SUBJECT_LENGTH - 3)}...`;
}
